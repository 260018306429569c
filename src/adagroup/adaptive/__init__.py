"""AdaGroup: adaptive task grouping from pooled training runs, with uncertainty.

The pieces, bottom to top: :mod:`._evidence` (runs as arrays, pair-level
affinity), :mod:`._grouping` (fast groupings for every ``k``),
:mod:`._uncertainty` (posterior draws, stability, choice of ``k``),
:mod:`._design` (which subsets to train next) and :mod:`._adagroup` (the loop).
"""

from ._adagroup import AdaGroup
from ._evidence import PairPosterior, RunTable, pair_affinity

__all__ = ["AdaGroup", "PairPosterior", "RunTable", "pair_affinity"]
