"""The package's layers import only downward (STYLE.md §4.1).

Every import counts: top-level and inside functions (lazy imports of optional
parts are still dependencies), ``import adagroup.x``, ``from . import x``, and
``importlib.import_module("adagroup.x")`` with a literal name. Every module of
the package must have a layer, so a new module cannot slip past the check.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "adagroup"

# Lower number = lower layer; a module may import only its own layer or below.
LAYERS = {
    "exceptions": 0,
    "tasks": 0,
    "runs": 0,
    "io": 0,
    "_validation": 0,
    "cluster": 1,
    "datasets": 1,
    "sampling": 1,
    "storage": 2,
    "study": 3,
    "execution": 3,
    "affinity": 3,
    "adaptive": 4,
    "networks": 4,
    "trainers": 4,
    "bench": 5,
    "plot": 5,
    "main_job": 5,
    "cli": 6,
    "__main__": 6,
}

# The package root: ``adagroup/__init__.py`` only maps names to modules and imports
# them on first use, so ``from .. import __version__`` pulls in nothing else.
ROOT_NAMES_ALLOWED = {"__version__"}


def _top_level_modules() -> set[str]:
    names = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in SRC.glob("*/__init__.py")}
    return names


def imported_modules(source: str, rel: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """Yield ``(line, dotted name under adagroup)`` for every import of the package in ``source``.

    ``rel`` is the module's path under ``adagroup`` without suffix, e.g.
    ``("cli", "_study")`` or ``("cluster", "__init__")``; relative imports are
    resolved against it. A name imported from the package root that is not a
    module is reported as ``"__init__.<name>"``.
    """
    modules = _top_level_modules()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("adagroup."):
                    yield node.lineno, alias.name.split(".", 1)[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("adagroup"):
                    continue
                base = node.module.split(".")[1:]
            else:
                base = [*rel[: len(rel) - node.level], *(node.module or "").split(".")]
                base = [part for part in base if part]
            if base and node.module:
                yield node.lineno, ".".join(base)
            elif base:  # from . import x: the submodules (or names) of a package
                for alias in node.names:
                    yield node.lineno, ".".join([*base, alias.name])
            else:  # from the package root: a submodule, or a name of __init__
                for alias in node.names:
                    prefix = "" if alias.name in modules else "__init__."
                    yield node.lineno, prefix + alias.name
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("adagroup.")
        ):
            yield node.lineno, str(node.args[0].value).split(".", 1)[1]


def layer_violations(source: str, rel: tuple[str, ...]) -> list[str]:
    """The imports in ``source`` (module ``rel``) that go up a layer or to an unknown place."""
    here = rel[0]
    out = []
    for line, target in imported_modules(source, rel):
        top = target.split(".")[0]
        where = f"{'/'.join(rel)}.py:{line} imports {target}"
        if top == "__init__":
            if target.split(".", 1)[1] not in ROOT_NAMES_ALLOWED:
                out.append(f"{where} from the package root; import it from its module")
        elif top not in LAYERS:
            out.append(f"{where}, which has no layer in LAYERS")
        elif LAYERS[top] > LAYERS[here]:
            out.append(f"{where} (layer {LAYERS[top]} > {here}'s {LAYERS[here]})")
    return out


def _package_modules() -> list[tuple[Path, tuple[str, ...]]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("").parts
        if rel != ("__init__",):  # the root only maps names to modules, lazily
            out.append((path, rel))
    return out


def test_every_module_has_a_layer_and_every_layer_a_module():
    assert _top_level_modules() == set(LAYERS)


def test_modules_import_only_lower_layers():
    offenders = []
    for path, rel in _package_modules():
        offenders += layer_violations(path.read_text(encoding="utf-8"), rel)
    assert not offenders, offenders


def test_imports_are_found_wherever_they_are():
    source = (
        "import importlib\n"
        "import adagroup.study\n"
        "from adagroup.cli import main\n"
        "from .. import plot, __version__\n"
        "def f():\n"
        "    from ..bench._report import to_markdown\n"
        "    from . import _kmeans\n"
        "    importlib.import_module('adagroup.trainers.hf')\n"
        "    class C:\n"
        "        def g(self):\n"
        "            from ..main_job import run_main_job\n"
    )
    found = sorted(t for _, t in imported_modules(source, ("cluster", "_sdp")))
    assert found == sorted(
        ["study", "cli", "plot", "__init__.__version__", "bench._report", "cluster._kmeans",
         "trainers.hf", "main_job"]
    )  # fmt: skip
    bad = layer_violations(source, ("cluster", "_sdp"))
    assert len(bad) == 6  # all but __version__ and the own package's _kmeans
    assert any("_sdp.py:11 imports main_job (layer 5 > cluster's 1)" in b for b in bad)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from .. import Study\n", "from the package root; import it from its module"),
        ("from ..nowhere import x\n", "which has no layer in LAYERS"),
    ],
)
def test_root_names_and_unknown_modules_are_refused(source, message):
    (bad,) = layer_violations(source, ("cli", "_study"))
    assert message in bad
