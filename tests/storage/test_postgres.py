"""PostgreSQL with several processes: first starts on an empty database, claims, retries.

Skipped without ``$ADAGROUP_TEST_POSTGRES_URL`` (``.ci/run`` starts a server and sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import _postgres

_START = """
import sys, time
from adagroup.storage import get_storage
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
storage = get_storage(sys.argv[1])
print(len(storage.get_all_study_names()))
"""


def test_concurrent_first_starts_on_an_empty_database(postgres_url):
    # Regression: 8 processes opening an empty database at once raced in create_all
    # (DuplicateTable: relation "schema_version" already exists, ~1 start in 25).
    env = dict(os.environ)
    failures = []
    for _ in range(5):
        _postgres.reset_database(postgres_url)
        start = str(time.time() + 1.5)  # all processes open the storage at the same instant
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _START, postgres_url, start],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            if p.returncode != 0 or out.strip() != "0":
                failures.append([x for x in err.splitlines() if "Error" in x][-1:] or [out])
    assert not failures, failures
