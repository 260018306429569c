"""The HF trainer's metrics: exact-match accuracy and ROUGE-1 on generated text."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_INSTALL_HINT = 'pip install "adagroup[hf]"'


_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")


def _normalize(text: str) -> str:
    """Lower-case, drop ASCII punctuation and collapse whitespace."""
    return " ".join(text.lower().translate(_PUNCT_TABLE).split())


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of predictions equal to their reference after normalisation.

    Both strings are lower-cased, stripped of ASCII punctuation and have whitespace
    collapsed, so ``"Yes."`` matches ``"yes"``.

    Parameters
    ----------
    predictions, references : sequence of str
        Same length, at least one element.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Examples
    --------
    >>> exact_match(["Yes.", "no"], ["yes", "maybe"])
    0.5
    """
    _check_pairs(predictions, references)
    hits = sum(
        _normalize(p) == _normalize(r) for p, r in zip(predictions, references, strict=True)
    )
    return hits / len(references)


def _unigram_f1(prediction: str, reference: str) -> float:
    # Same tokenisation as rouge_score without stemming (lower-case, runs of [a-z0-9]),
    # so this fallback and rouge_score give identical numbers.
    pred = Counter(_ROUGE_TOKEN.findall(prediction.lower()))
    ref = Counter(_ROUGE_TOKEN.findall(reference.lower()))
    overlap = sum((pred & ref).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def rouge1(
    predictions: Sequence[str], references: Sequence[str], *, backend: str = "auto"
) -> float:
    """Mean ROUGE-1 F1 between predictions and references.

    Tokens are lower-cased runs of ASCII letters and digits, without stemming; text in
    other scripts therefore scores 0 (as in ``rouge_score``).

    Parameters
    ----------
    predictions, references : sequence of str
        Same length, at least one element.
    backend : {"auto", "rouge_score", "builtin"}, default="auto"
        ``"rouge_score"`` uses the ``rouge-score`` package; ``"builtin"`` a small unigram
        F1 with the same tokenisation (identical scores); ``"auto"`` the package when
        installed, else the builtin.

    Returns
    -------
    float
        Mean F1 in [0, 1].

    Examples
    --------
    >>> round(rouge1(["the cat sat"], ["the cat ran"], backend="builtin"), 4)
    0.6667
    """
    _check_pairs(predictions, references)
    if backend not in ("auto", "rouge_score", "builtin"):
        raise ValueError(
            "The 'backend' parameter of rouge1 must be one of ('auto', 'rouge_score', "
            f"'builtin'). Got {backend!r} instead."
        )
    scorer = None
    if backend != "builtin":
        try:
            from rouge_score import rouge_scorer
        except ImportError as exc:
            if backend == "rouge_score":
                raise ImportError(
                    f"rouge1(backend='rouge_score') needs rouge-score: {_INSTALL_HINT}"
                ) from exc
        else:
            scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=False)
    if scorer is None:
        values = [_unigram_f1(p, r) for p, r in zip(predictions, references, strict=True)]
    else:
        values = [
            scorer.score(r, p)["rouge1"].fmeasure
            for p, r in zip(predictions, references, strict=True)
        ]
    return float(np.mean(values))


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references) or len(references) == 0:
        raise ValueError(
            "predictions and references must be non-empty and of equal length. Got "
            f"{len(predictions)} and {len(references)}."
        )


_METRIC_FUNCS = {"accuracy": exact_match, "rouge1": rouge1}
