import subprocess
import sys

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
