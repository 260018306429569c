from __future__ import annotations

import pytest

import _postgres


@pytest.fixture
def postgres_url() -> str:
    """An emptied PostgreSQL database (see tests/_postgres.py); skips without a server."""
    return _postgres.postgres_url()
