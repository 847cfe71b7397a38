"""Spreading one sweep over several machines: `--shard K/N` and `merge`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
STATUS_RANK = {"succeeded": 0, "failed": 1, "canceled": 2}


@dataclass(frozen=True)
class Shard:
    """The K-th of N deterministic slices of a spec's jobs (1-based), chosen by `job_id`."""

    index: int
    count: int

    def takes(self, job_id: str) -> bool:
        """Whether this shard runs the job; every job belongs to exactly one shard."""
        return int(job_id, 16) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Read `K/N` (1 <= K <= N)."""
    match = _SHARD.match(text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"expected K/N with 1 <= K <= N, such as 2/4, got {text!r}")
    return Shard(int(match[1]), int(match[2]))
