"""AdaGroup: adaptive task grouping from pooled training runs, with uncertainty.

The pieces, bottom to top: :mod:`._evidence` (runs as arrays, pair-level
affinity), :mod:`._grouping` (fast groupings for every ``k``),
:mod:`._uncertainty` (posterior draws, stability, choice of ``k``),
:mod:`._design` (which subsets to train next), :mod:`._pooled` (one-shot grouping
of any runs) and :mod:`._adagroup` (the loop).
"""

from ._adagroup import AdaGroup
from ._evidence import PairPosterior, RunTable, pair_affinity
from ._pooled import group_runs

__all__ = ["AdaGroup", "PairPosterior", "RunTable", "group_runs", "pair_affinity"]
