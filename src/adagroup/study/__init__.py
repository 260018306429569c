"""Studies: a named, durable plan of training runs on subsets of tasks, and its execution.

:mod:`._study` holds the :class:`Study` facade (create or resume by name, plan, read back),
:mod:`._loop` one call of :meth:`Study.run`, :mod:`._failures` the kinds of failure and
their retry budgets, :mod:`._workers` worker identity and liveness.
"""

from ._failures import INFRA_RETRIES, INTERRUPTED, REAP_RETRIES, failure_kind
from ._study import Study, get_all_study_names, load_study
from ._workers import worker_id

__all__ = [
    "INFRA_RETRIES",
    "INTERRUPTED",
    "REAP_RETRIES",
    "Study",
    "failure_kind",
    "get_all_study_names",
    "load_study",
    "worker_id",
]
