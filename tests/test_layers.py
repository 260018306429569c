"""The package's layers import only downward (STYLE.md §4.1)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "adagroup"

# Lower number = lower layer; a module may import only its own layer or below.
LAYERS = {
    "exceptions": 0,
    "tasks": 0,
    "runs": 0,
    "io": 0,
    "cluster": 1,
    "datasets": 1,
    "sampling": 1,
    "storage": 2,
    "study": 3,
    "execution": 3,
    "affinity": 3,
    "adaptive": 4,
    "trainers": 4,
    "bench": 5,
    "plot": 5,
    "report": 5,
    "cli": 6,
    "__main__": 6,
}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_modules_import_only_lower_layers():
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        here = _top(".".join(rel.parts))
        if here == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                depth = len(rel.parts) - node.level
                target = _top(".".join((*rel.parts[:depth], node.module)))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("adagroup."):
                target = _top(node.module.split(".", 1)[1])
            else:
                continue
            if target in LAYERS and here in LAYERS and LAYERS[target] > LAYERS[here]:
                offenders.append(f"{rel} imports {target}")
    assert not offenders, offenders
