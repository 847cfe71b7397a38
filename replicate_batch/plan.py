"""The dry-run plan: what a run would create, and the least time it can take."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

ASSUMED_PREDICTION_S = (10.0, 60.0)  # example model times; the real one is unknown until a model runs


def limit_counts(counts: Mapping[str, int], limit: int | None) -> dict[str, int]:
    """Predictions per model under `--limit N`: jobs run model by model, so the first N are taken."""
    left = math.inf if limit is None else limit
    limited = {}
    for name, count in counts.items():
        limited[name] = int(min(count, left))
        left -= limited[name]
    return limited


def rounds_needed(counts: Mapping[str, int], concurrency: int, caps: Mapping[str, int | None]) -> int:
    """The fewest waves of predictions the run needs: with C in flight, N take ceil(N / C) waves."""
    total = sum(counts.values())
    waves = math.ceil(total / concurrency)
    for name, count in counts.items():
        cap = min(caps.get(name) or concurrency, concurrency)
        waves = max(waves, math.ceil(count / cap))
    return waves


def least_duration_s(total: int, rounds: int, rate_limit_per_min: float, prediction_s: float) -> float:
    """A lower bound: creates are paced to the rate limit, and each wave takes one prediction's time."""
    return max(total / rate_limit_per_min * 60, rounds * prediction_s)


def describe_plan(
    counts: Mapping[str, int],
    *,
    limit: int | None,
    files: int,
    concurrency: int,
    rate_limit_per_min: float,
    caps: Mapping[str, int | None],
    endpoints: Mapping[str, str] | None = None,
    judges: Sequence[tuple[str, str, int]] = (),
) -> str:
    """The plan `--dry-run` prints: predictions per model, total, files, the expected duration, and
    where each model's predictions are created (`endpoints`, by model name).

    `judges` are (scorer name, judge model, jobs it judges): at most one judge prediction each.
    """
    full = sum(counts.values())
    counts = limit_counts(counts, limit)
    total = sum(counts.values())
    width = max(len(name) for name in [*counts, "total"])
    limited = f" (--limit {limit}: {total} of {full})" if total < full else ""
    lines = [f"dry run: nothing was created. The run would make{limited}:"]
    for name, count in counts.items():
        cap = f" (at most {caps[name]} at once)" if caps.get(name) else ""
        lines.append(f"  {name:<{width}}  {_count(count, 'prediction')}{cap}")
    files_text = _count(files, "local file")
    lines.append(f"  {'total':<{width}}  {_count(total, 'prediction')}, {files_text} to upload")
    judged = {name: min(jobs, total) for name, _, jobs in judges}  # at most the jobs that run
    in_slots = dict(counts)  # judge predictions take slots of the same pool
    if judges:
        lines.append("and judge predictions, once for each distinct input of a job that succeeds:")
        judge_width = max(len(name) for name, _, _ in judges)
        for name, model, _ in judges:
            lines.append(f"  {name:<{judge_width}}  on {model}: at most {_count(judged[name], 'prediction')}")
        in_slots.update({f"judge {name}": jobs for name, jobs in judged.items()})
        total += sum(judged.values())
    rounds = rounds_needed(in_slots, concurrency, caps)
    creates_s = total / rate_limit_per_min * 60
    examples = ", ".join(
        f"~{_duration(least_duration_s(total, rounds, rate_limit_per_min, s))} at {_duration(s)} each"
        for s in ASSUMED_PREDICTION_S
    )
    lines += [
        f"expected duration (concurrency {concurrency}, {rate_limit_per_min:g} creates/min): at least "
        f"{_duration(creates_s)} for the creates, and {_count(rounds, 'wave')} of predictions in flight,",
        f"  each as long as one prediction (unknown until the model runs): {examples}",
    ]
    known = [name for name in counts if (endpoints or {}).get(name)]
    if endpoints and known:
        lines.append("where each model's predictions are created:")
        lines += [f"  {name:<{width}}  {endpoints[name]}" for name in known]
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 and not float(seconds).is_integer() else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min".replace(".0 min", " min")
    return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
