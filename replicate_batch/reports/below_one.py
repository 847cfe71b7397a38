"""Which jobs of a run scored below 1: those report.html's filter shows and its selection prefers.

A job scored below 1 when, under some scorer that applies to its model, its score is below 1 or it has
none: a failed, canceled or unscored job counts 0 in the model's mean, so these are exactly the jobs
that pull a mean down. A job of a model no scorer applies to never did. The page's script
(`static/report.js`, `lowJob`) says the same of the jobs it embeds.

Which scorers apply to which model is the manifest's `scores` (its models' keys); a run whose manifest
has none (it stopped before writing them) counts a scorer as applying to a model when some job of that
model has its score or note, as `run_scores.read_job_scores` does.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from .records import NOTE_PREFIX, SCORE_PREFIX, RunRecords
from .run_scores import manifest_scores, score_value

_Cells = Callable[[Mapping[str, str]], tuple[str, ...]]  # a record's cells of some columns


class BelowOne:
    """Tells whether a job scored below 1, given the scorers that apply to each model.

    Records are `results.csv` rows, so every `score.<name>` column is there.
    """

    def __init__(self, applies: Mapping[str, Sequence[str]]) -> None:
        self._cells = {model: _score_cells(names) for model, names in applies.items() if names}

    def __call__(self, record: Mapping[str, str]) -> bool:
        """Whether the job scored below 1 (or is unscored) under a scorer that applies to its model."""
        cells = self._cells.get(record["model"])
        return cells is not None and _any_below_one(cells(record))


def _score_cells(names: Sequence[str]) -> _Cells:
    if len(names) == 1:  # an itemgetter of one column gives the cell, not a tuple
        column = SCORE_PREFIX + names[0]
        return lambda record: (record[column],)
    getter: _Cells = itemgetter(*(SCORE_PREFIX + name for name in names))
    return getter


@functools.lru_cache(maxsize=4096)
def _any_below_one(cells: tuple[str, ...]) -> bool:
    """Whether any of a job's `score.<name>` cells is below 1 or empty (a run's cells are a few texts,
    read again and again: `1`, `0`, `0.5`, ...)."""
    return any(_cell_below_one(cell) for cell in cells)


@functools.lru_cache(maxsize=4096)
def _cell_below_one(cell: str) -> bool:
    value = score_value(cell)
    return value is None or value < 1


class BelowOneTally:
    """Goes over a run's records once: which scorers apply to each model, how many jobs scored below 1.

    Without the manifest's word on which scorers apply, that is known only at the end; so each job is
    counted under the set of scorers it is below 1 under, and the sets are matched at the end.
    """

    def __init__(self, run: RunRecords) -> None:
        self.names = list(run.scorer_names)
        self._columns = [(name, SCORE_PREFIX + name) for name in self.names]
        known = manifest_scores(run.manifest) if self.names else {}
        self._known = (
            None if known is None else {m: [n for n in self.names if n in s] for m, s in known.items()}
        )
        self._is_below_one = BelowOne(self._known or {})
        self._below_one = 0  # with the manifest's word
        self._seen: dict[str, set[str]] = {}  # without it: scorers with a score or note
        self._below: Counter[tuple[str, frozenset[str]]] = Counter()  # (model, scorers below 1 under)

    @property
    def applies_known(self) -> bool:
        """Whether which scorers apply to each model is known before the records are counted."""
        return self._known is not None

    def add(self, record: Mapping[str, str]) -> bool:
        """Count one job; returns whether it scored below 1 when `applies_known` (else False: that is
        known only at the end)."""
        if not self.names:
            return False
        if self._known is not None:
            below_one = self._is_below_one(record)
            self._below_one += below_one
            return below_one
        model = record["model"]
        below = frozenset(n for n, column in self._columns if _cell_below_one(record.get(column, "")))
        if below:
            self._below[(model, below)] += 1
        marked = (n for n in self.names if record.get(SCORE_PREFIX + n) or record.get(NOTE_PREFIX + n))
        self._seen.setdefault(model, set()).update(marked)
        return False

    def applies(self) -> dict[str, list[str]]:
        """Per model, the scorers that apply to it, in `results.csv` order (a model with none: absent)."""
        if self._known is not None:
            return {m: names for m, names in self._known.items() if names}
        return {m: [n for n in self.names if n in seen] for m, seen in self._seen.items() if seen}

    def below_one(self) -> int:
        """How many of the jobs counted scored below 1 under a scorer of their model."""
        if self._known is not None:
            return self._below_one
        applies = {m: set(names) for m, names in self.applies().items()}
        return sum(n for (model, below), n in self._below.items() if below & applies.get(model, set()))
