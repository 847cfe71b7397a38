"""Polling budget: 500 predictions of 60 s each in flight at once, GETs per minute and poll intervals.

    .venv/bin/python benchmarks/polling.py              # scenarios A, B, E (about 3 minutes)
    .venv/bin/python benchmarks/polling.py --quick      # scenario B
    .venv/bin/python benchmarks/polling.py --scenarios A,B,C --scale 1

Time is scaled (default 0.5: a 60 s prediction takes 30 s of real time); every figure below is in
model (clock) seconds, the runner's clock and the emulator running at the same scale. CPU-bound
delays in the runner are real seconds, so they look 1/scale times longer in model seconds: use
`--scale 1` for figures to quote.

Scenarios (500 jobs at concurrency 500 unless said, so all are in flight at once):
  A  as shipped: `Prefer: wait` of 60 s; a 60 s prediction mostly finishes inside the sync wait.
  B  sync wait cut to 1 s (`ReplicateBackend(sync_wait_s=1)`, handed in by `run_batch(backends=...)`;
     not a setting), so every prediction is polled for its whole minute: the budget (2,500/min) binds.
  C  as B with `poll_limit: 1000` in the spec: the measured rate follows the setting.
  D  300 s predictions with the shipped 60 s sync wait: 500 polled at once, the budget binds.
  E  10 predictions of 300 s (time scale 0.1 unless --scale): the budget never binds, so the
     intervals are the schedule's own, growing from 0.5 s to the 10 s cap.
(The `p` and `r` suffixes of figures recorded on 2026-11-26, split connection pools and the reserving
bucket, were what-ifs then; both are the package's own code now.)
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
from collections import Counter, defaultdict
from typing import Any

from harness import (
    TOKEN,
    Logged,
    TimedEmulator,
    child_figures,
    cpu_s,
    emit,
    load_line,
    machine_line,
    measured_run,
    prompt_rows,
    request_kinds,
    run_as_child,
    run_child,
    table,
    text_model,
)

SCENARIOS: dict[str, dict[str, Any]] = {
    "A": {"duration_s": 60.0, "sync_wait_s": None, "polls_per_min": None},
    "B": {"duration_s": 60.0, "sync_wait_s": 1, "polls_per_min": None},
    "C": {"duration_s": 60.0, "sync_wait_s": 1, "polls_per_min": 1000},
    "D": {"duration_s": 300.0, "sync_wait_s": None, "polls_per_min": None},
    "E": {"duration_s": 300.0, "sync_wait_s": None, "polls_per_min": None, "jobs": 10, "scale": 0.1},
}
DEFAULT_SCALE = 0.5
DEFAULT_BUDGET = 2500  # the spec's poll_limit default
AGE_BANDS = ((0, 5), (5, 15), (15, 30), (30, 60), (60, 120), (120, 10_000))


def designed_interval_s(age_s: float) -> float:
    """The runner's poll interval at this age (execution.py: max(0.5, min(10, elapsed / 10)))."""
    return max(0.5, min(10.0, age_s / 10))


def unbudgeted_polls(life_s: float) -> int:
    """How many GETs one prediction polled for `life_s` would get with no budget at all."""
    t, polls = 0.0, 0
    while t < life_s:
        t += designed_interval_s(t)
        polls += 1
    return polls


def run_runner(config: dict[str, Any]) -> None:
    """Child: the runner on `jobs` rows at `concurrency`, with the scenario's sync wait and budget."""
    backends = None
    if config["sync_wait_s"] is not None:
        from replicate_batch.backends.base import Backend
        from replicate_batch.backends.replicate_api import ReplicateBackend

        def backends(loaded: Any, *, concurrency: int, clock: Any) -> list[Backend]:
            """As `make_backends` builds them, with a shorter `Prefer: wait` (not a setting)."""
            token = os.environ["REPLICATE_API_TOKEN"]
            return [
                ReplicateBackend(
                    model.ref,
                    token,
                    max_connections=concurrency,
                    cancel_after_s=loaded.spec.timeout,
                    sync_wait_s=config["sync_wait_s"],
                )
                for model in loaded.spec.models
            ]

    spec = {
        "name": "polling",
        "models": [config["ref"]],
        "concurrency": config["jobs"],
        "rate_limit": config["rate_limit"],
        "inputs": prompt_rows(config["jobs"]),
    }
    if config["polls_per_min"] is not None:
        spec["poll_limit"] = config["polls_per_min"]
    emit(child_figures(**measured_run(spec, scale=config["scale"], backends=backends)))


def busiest_window(times: list[float], window_s: float) -> int:
    """Most events in any `window_s` span (times sorted)."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_right(times, t + window_s) - i)
    return best


def analyse(
    name: str, scenario: dict[str, Any], log: list[Logged], emulator: TimedEmulator, figures: dict[str, Any]
) -> dict[str, Any]:
    """GETs per minute, polls per prediction, intervals by age and completion lag, in clock seconds."""
    scale = emulator.time_scale
    creates = [e for e in log if e.endpoint == "create" and e.status < 300]
    gets = sorted((e for e in log if e.endpoint == "get"), key=lambda e: e.start)
    origin = min(e.start for e in creates)
    create_end = {e.prediction_id: e.end for e in creates if e.prediction_id}
    by_pred: dict[str, list[Logged]] = defaultdict(list)
    for entry in gets:
        by_pred[entry.path.rsplit("/", 1)[-1]].append(entry)
    bands: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    lags: list[float] = []
    for pred_id, state in emulator.predictions.items():
        polls = by_pred.get(pred_id, [])
        previous = create_end[pred_id]
        for entry in polls:
            age_prev = (previous - create_end[pred_id]) / scale
            age = (entry.start - create_end[pred_id]) / scale
            observed = (entry.start - previous) / scale
            band = next(b for b in AGE_BANDS if b[0] <= age < b[1])
            bands[band].append((observed, designed_interval_s(age_prev)))
            previous = entry.start
        if state.completed_ns is not None:
            done = state.completed_ns / 1e9
            seen = [e.end for e in polls if e.start >= done]
            lags.append(((seen[0] if seen else create_end[pred_id]) - done) / scale)
    get_times = [(e.start - origin) / scale for e in gets]
    kinds = request_kinds(log)
    jobs = len(creates)
    wall = (figures["ended"] - figures["started"]) / scale
    last_answer = max(e.end for e in log if e.endpoint in ("create", "get"))
    completions = [s.completed_ns / 1e9 for s in emulator.predictions.values() if s.completed_ns]
    budget = scenario["polls_per_min"] or DEFAULT_BUDGET
    return {
        "name": name,
        "scenario": scenario,
        "jobs": jobs,
        "wall": wall,
        "creates": kinds["create"],
        "polls": kinds["poll"],
        "errors": sum(1 for e in log if e.status >= 400),
        "error_kinds": dict(Counter(f"{e.endpoint} {e.status}" for e in log if e.status >= 400)),
        "to_first_create": (origin - figures["started"]) / scale,
        "create_span": (max(e.start for e in creates) - origin) / scale,
        "last_completion": (max(completions) - origin) / scale if completions else 0.0,
        "last_answer": (last_answer - origin) / scale,
        "after_last_answer": (figures["ended"] - last_answer) / scale,
        "polls_per_pred": kinds["poll"] / max(1, jobs),
        "max_polls_pred": max((len(v) for v in by_pred.values()), default=0),
        "busiest_min": busiest_window(get_times, 60.0),
        "busiest_10s_per_min": 6 * busiest_window(get_times, 10.0),
        "polling_span": (get_times[-1] - get_times[0]) if get_times else 0.0,
        "budget": budget,
        "scale": scale,
        "within_budget": busiest_window(get_times, 60.0) <= budget,
        "bands": bands,
        "lag_median": statistics.median(lags) if lags else 0.0,
        "lag_max": max(lags, default=0.0),
        "cpu_s": figures["cpu_s"],
        "emu_cpu_s": figures["emu_cpu_s"],
        "maxrss_mb": figures["maxrss_mb"],
        "counts": figures["counts"],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, help="predictions, all in flight at once (default 500; E: 10)")
    parser.add_argument(
        "--scale", type=float, help=f"real seconds per model second (default {DEFAULT_SCALE}, E: 0.1)"
    )
    parser.add_argument(
        "--scenarios",
        default="A,B,E",
        help="any of A-E, comma separated",
    )
    parser.add_argument("--quick", action="store_true", help="scenario B only")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"runner": run_runner}):
        return
    args = parse_args()
    given = "B" if args.quick else args.scenarios
    names = [n.strip().upper() for n in given.split(",") if n.strip()]
    print(machine_line())
    print(
        "polling: N predictions at concurrency N (all in flight at once); time scaled (1 model second = "
        "scale real seconds); all figures in model seconds"
    )
    results = []
    for name in names:
        scenario = SCENARIOS[name]
        jobs = args.jobs or scenario.get("jobs", 500)
        scale = args.scale or scenario.get("scale", DEFAULT_SCALE)
        emulator = TimedEmulator(token=TOKEN, time_scale=scale)
        model = emulator.add_model(text_model("bench", "minute", scenario["duration_s"]))
        emulator.start()
        env = {"REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
        config = {
            **scenario,
            "jobs": jobs,
            "ref": model.ref,
            "scale": scale,
            "rate_limit": 12_000,  # 200 creates/s: all 500 in flight within 2.5 s
        }
        try:
            mark, emu_cpu_s = emulator.mark(), cpu_s()
            figures = run_child(__file__, "runner", config, env)
            figures["emu_cpu_s"] = cpu_s() - emu_cpu_s
            results.append(analyse(name, scenario, emulator.since(mark), emulator, figures))
        finally:
            emulator.stop()
    print(
        table(
            [
                "scenario",
                "jobs",
                "scale",
                "pred_s",
                "sync_wait",
                "budget/min",
                "wall_s",
                "start_s",
                "creates_by_s",
                "last_done_s",
                "last_seen_s",
                "end_s",
                "creates",
                "polls",
                "http_errors",
                "polls/pred",
                "max/pred",
                "busiest_60s",
                "in_budget",
                "busiest_10s_x6",
                "lag_med_s",
                "lag_max_s",
                "cpu_s",
                "emu_cpu_s",
                "rss_mb",
                "succeeded",
            ],
            [
                [
                    r["name"],
                    r["jobs"],
                    r["scale"],
                    r["scenario"]["duration_s"],
                    r["scenario"]["sync_wait_s"] or 60,
                    r["budget"],
                    r["wall"],
                    r["to_first_create"],
                    r["create_span"],
                    r["last_completion"],
                    r["last_answer"],
                    r["after_last_answer"],
                    r["creates"],
                    r["polls"],
                    r["errors"],
                    r["polls_per_pred"],
                    r["max_polls_pred"],
                    r["busiest_min"],
                    "yes" if r["within_budget"] else "NO",
                    r["busiest_10s_per_min"],
                    r["lag_median"],
                    r["lag_max"],
                    r["cpu_s"],
                    r["emu_cpu_s"],
                    r["maxrss_mb"],
                    f"{r['counts'].get('succeeded', 0)}/{r['jobs']}",
                ]
                for r in results
            ],
        )
    )
    print(
        "wall_s = start_s (run_batch called -> first create) + last_seen_s (first create -> the answer "
        "that saw the last completion) + end_s (-> run_batch returned);\ncreates_by_s: first create -> "
        "last create sent; last_done_s: first create -> "
        "last prediction completed on the server;\n"
        "busiest_60s: most GETs in any 60 model-second window; in_budget: busiest_60s <= budget;\n"
        "busiest_10s_x6: the busiest 10 s, as a per-minute rate; "
        "lag: model seconds from a "
        "prediction's completion to the runner's answer that saw it (create or poll)"
    )
    for r in results:
        if r["error_kinds"]:
            print(f"scenario {r['name']}: HTTP errors {r['error_kinds']}")
    for r in results:
        if not r["bands"]:
            continue
        print(f"\nscenario {r['name']}: poll intervals by age since the create's answer (model seconds)")
        rows = []
        for band in AGE_BANDS:
            pairs = r["bands"].get(band)
            if pairs:
                observed = statistics.median(p[0] for p in pairs)
                designed = statistics.median(p[1] for p in pairs)
                rows.append([f"{band[0]}-{band[1]} s", len(pairs), designed, observed])
        print(table(["age", "polls", "designed_median_s", "observed_median_s"], rows))
        life = r["scenario"]["duration_s"] - (r["scenario"]["sync_wait_s"] or 60)
        if life > 0:
            unbudgeted = unbudgeted_polls(life) * r["jobs"]
            print(
                f"without a budget the schedule alone would send {unbudgeted:,} GETs over {life:g} s "
                f"({unbudgeted_polls(min(life, 60.0)) * r['jobs']:,} in the first minute)"
            )

    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
