"""Problems found before anything runs, reported together with the place they were found."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, its rows or its models, and where."""

    source: str  # the file the problem is in (spec, rows file) or "environment"
    place: str  # `models[1].ref`, `inputs[3].image`, `rows.csv line 7`; may be empty
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.place}" if self.place else self.source
        return f"{where}: {self.message}"


class SpecError(Exception):
    """The spec, its rows, the environment or a model is invalid; nothing was created."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, source: str, place: str, message: str) -> SpecError:
        """A SpecError holding one problem."""
        return cls([Problem(source, place, message)])


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean `x`?)` hint for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
