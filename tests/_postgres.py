"""A real PostgreSQL server for the tests, when one is configured.

``ADAGROUP_TEST_POSTGRES_URL`` (set by ``.ci/run``, e.g.
``postgresql+psycopg://adagroup:adagroup@localhost/adagroup_test``) names a database the
tests may wipe; without it the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_ENV = "ADAGROUP_TEST_POSTGRES_URL"


def reset_database(url: str) -> str:
    """Drop adagroup's tables from the database at ``url`` and return the url."""
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for table in ("results", "runs", "studies", "schema_version"):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    finally:
        engine.dispose()
    return url


def postgres_url() -> str:
    """URL of the emptied PostgreSQL test database; skips the test without one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set ${POSTGRES_ENV} (.ci/run starts one)")
    return reset_database(url)
