import subprocess
import sys

import numpy as np

import adagroup as ag


def test_every_public_name_resolves():
    for name in ag.__all__:
        assert getattr(ag, name) is not None, name


def test_import_is_light():
    # Optional heavy dependencies load on first use, not at import.
    code = (
        "import sys, adagroup, adagroup.cluster; "
        "print(sorted(m for m in ('torch', 'sqlalchemy', 'sklearn', 'matplotlib', 'ray') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ag.nope  # noqa: B018


def test_all_is_a_literal_list_naming_every_lazy_export():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ag))
    (node,) = [
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    ]
    literal = ast.literal_eval(node.value)  # raises unless __all__ is a literal
    assert literal == ag.__all__ and len(set(literal)) == len(literal)
    assert set(literal) == {*ag._LAZY, "__version__"}


def test_error_hierarchy_and_sdp_result_are_exported():
    from adagroup import exceptions
    from adagroup.cluster._sdp import SDPResult

    assert ag.SDPResult is SDPResult
    for name in exceptions.__all__:
        if name != "warn_external":
            assert getattr(ag, name) is getattr(exceptions, name), name
    assert issubclass(ag.StudyNotFoundError, ag.AdagroupError)
    assert ag.sdp_clustering(np.eye(4), 2).__class__ is ag.SDPResult


def test_type_checking_imports_match_all():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ag))
    (block,) = [n for n in tree.body if isinstance(n, ast.If)]
    imported = {a.asname or a.name for n in block.body for a in n.names}
    assert imported == set(ag.__all__) - {"__version__"}
