"""Rows from a .csv or .jsonl file are read again on every pass, never held, and refused once changed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from replicate_batch import load_results, run_batch
from replicate_batch.backends.base import OnCreated, Prediction
from replicate_batch.errors import RowsChanged, RunStopped
from replicate_batch.rows.rowset import Row, RowSet, load_rows
from replicate_batch.spec.loading import parse_spec
from tests.doubles import InstantBackend


def _load(tmp_path: Path, inputs: Any, each: Callable[[Row], object] | None = None) -> RowSet:
    return load_rows(parse_spec({"models": ["acme/echo"], "inputs": inputs}, path=tmp_path / "s.yaml"), each)


def _seen(rows: Iterable[Row]) -> list[tuple[str, dict[str, Any], dict[str, Any], str, bool]]:
    return [(r.id, dict(r.values), dict(r.metadata), r.place, r.from_csv) for r in rows]


def _write_csv(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt", "_expected"])
        writer.writerows([f"r{i}", f"row {i}: a photo of a cat on a sofa", "cat"] for i in range(count))
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rows.csv", 'id,prompt,_gold\na,hello,yes\n\nb,"two\nlines",no\n'),
        ("rows.jsonl", '{"id": "a", "prompt": "hello", "_gold": "yes"}\n\n{"prompt": "b", "steps": 4}\n'),
        ("rows.json", '[{"id": "a", "prompt": "hello"}, {"prompt": "b"}]'),
        ("rows.yaml", "- {id: a, prompt: hello}\n- {prompt: b}\n"),
    ],
)
def test_every_pass_gives_the_same_rows(name: str, text: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    checked: list[Row] = []  # the checking pass's rows, as `rescore` keeps them without a pass of its own
    rows = _load(tmp_path, name, checked.append)
    first = _seen(rows)
    assert len(rows) == len(first) == 2
    assert _seen(rows) == first == _seen(checked)
    assert [row_id for row_id, *_ in first] == ["a", "2" if name != "rows.csv" else "b"]


def test_inline_rows_are_held_and_passed_over_again(tmp_path: Path) -> None:
    rows = _load(tmp_path, [{"prompt": "a"}, {"id": "x", "prompt": "b", "_gold": 1}])
    assert len(rows) == 2
    assert (
        _seen(rows)
        == _seen(rows)
        == [
            ("1", {"prompt": "a"}, {}, "inputs[0]", False),
            ("x", {"prompt": "b"}, {"_gold": 1}, "inputs[1]", False),
        ]
    )


def test_a_row_is_compact() -> None:
    row = Row("a", {"prompt": "x"}, {}, "inputs[0]")
    assert not hasattr(row, "__dict__")  # slots: no per-row dict of attributes


def test_a_big_csv_is_not_held_in_memory(tmp_path: Path) -> None:
    loaded = parse_spec(
        {"models": ["acme/echo"], "inputs": str(_write_csv(tmp_path / "rows.csv", 20_000))},
        path=tmp_path / "s.yaml",
    )
    tracemalloc.start()
    try:
        rows = load_rows(loaded)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        counts = [sum(1 for _ in rows), sum(1 for _ in rows)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts == [20_000, 20_000] and len(rows) == 20_000
    # Held, 20,000 rows take ~10 MB; a pass holds one row at a time and the read buffers.
    assert held < 256 * 1024, held
    assert peak - held < 512 * 1024, peak - held


def test_a_file_changed_between_passes_is_refused(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "rows.csv", 3)
    rows = _load(tmp_path, "rows.csv")
    assert len(list(rows)) == 3
    path.write_text(path.read_text() + "r3,a new row,dog\n")
    with pytest.raises(RowsChanged) as caught:
        next(iter(rows))
    (problem,) = caught.value.problems
    assert problem.source == str(tmp_path / "s.yaml") and problem.place == "inputs"
    assert problem.message.startswith("rows.csv changed since the run first read it (")
    assert "its content differs" in problem.message
    assert "must stay as it is until the run ends" in problem.message


def test_same_size_and_time_but_other_content_is_caught_at_the_end_of_the_pass(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "rows.csv", 3)
    rows = _load(tmp_path, "rows.csv")
    before = path.stat()
    path.write_text(path.read_text().replace("r1,", "r9,"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(RowsChanged, match="its content differs"):
        list(rows)


def test_a_file_touched_or_copied_back_unchanged_still_runs(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}"}) + "\n" for i in range(3)))
    rows = _load(tmp_path, "rows.jsonl")
    first = _seen(rows)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert _seen(rows) == first
    copy = tmp_path / "copy.jsonl"
    shutil.copyfile(path, copy)
    os.replace(copy, path)  # another inode, the same bytes
    assert _seen(rows) == first


def test_a_file_changed_during_a_pass_is_refused_before_its_new_rows_are_used(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "rows.csv", 3)
    rows = _load(tmp_path, "rows.csv")
    passing = iter(rows)
    seen = [next(passing).id]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("r3,a new row,dog\n")
    with pytest.raises(RowsChanged, match=r"rows\.csv changed since the run first read it"):
        seen.extend(row.id for row in passing)
    assert seen == ["r0", "r1", "r2"]  # the rows read before the change, not the new one


def test_a_file_gone_is_refused(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "rows.csv", 3)
    rows = _load(tmp_path, "rows.csv")
    path.unlink()
    with pytest.raises(RowsChanged, match=r"rows.csv changed .*: it cannot be read again: No such file"):
        list(rows)


class _EditingBackend(InstantBackend):
    """An instant backend that runs `edit` once, when asked for `prompt` (a user editing the file)."""

    def __init__(self, ref: str, prompt: str, edit: Any) -> None:
        super().__init__(ref)
        self.prompt = prompt
        self.edit = edit

    def create(self, model_input: Any, on_created: OnCreated, time_left_s: float) -> Prediction:
        if model_input.get("prompt") == self.prompt and self.edit is not None:
            self.edit, edit = None, self.edit
            edit()
        return super().create(model_input, on_created, time_left_s)


def test_a_run_stops_cleanly_when_its_rows_file_changes_and_resumes_once_it_is_back(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("id,prompt\n" + "".join(f"r{i},prompt {i}\n" for i in range(6)))
    original = path.read_bytes()
    spec = {"models": [{"ref": "acme/one"}, {"ref": "acme/two"}], "inputs": str(path)}
    made: list[InstantBackend] = []

    def edit() -> None:
        path.write_text("id,prompt\nnew,changed\n")

    edits = [edit]  # only in the first run

    def backends(loaded: Any, *, concurrency: int, clock: Any) -> list[InstantBackend]:
        # At the first job: the first model's pass has read the small file already, the second
        # model's pass reads it after the edit (2 x concurrency jobs are pulled ahead at most).
        made[:] = [_EditingBackend("acme/one", "prompt 0", edits.pop() if edits else None)]
        made.append(InstantBackend("acme/two"))
        return list(made)

    with pytest.raises(RunStopped) as caught:
        run_batch(
            spec,
            output_dir=tmp_path / "out",
            concurrency=1,
            stderr=io.StringIO(),
            backends=backends,
        )
    stopped = caught.value
    run_dir = stopped.summary.run_dir
    assert run_dir is not None and stopped.summary.exit_code == 130
    changed, what_now = stopped.problems
    assert changed.message.startswith("rows.csv changed since the run first read it")
    assert f"continue with --resume {run_dir}" in what_now.message
    assert stopped.summary.table.startswith("model")  # the CLI prints it, with the run folder
    results = load_results(run_dir)
    assert [b.creates for b in made] == [6, 0]
    assert sorted(results["row_id"]) == [f"r{i}" for i in range(6)]  # every job made was recorded
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and "rows.csv changed" in manifest["error"]
    assert all(b.stopped for b in made)

    path.write_bytes(original)
    summary = run_batch(spec, resume=run_dir, quiet=True, backends=backends)
    clean = run_batch(spec, output_dir=tmp_path / "clean", quiet=True, backends=backends)
    assert summary.exit_code == clean.exit_code == 0
    assert clean.run_dir is not None
    resumed = load_results(run_dir)  # rewritten in job order at the end of the resume
    assert set(resumed["job_id"]) == set(load_results(clean.run_dir)["job_id"])
    assert list(zip(resumed["model"], resumed["row_id"])) == [
        (model, f"r{i}") for model in ("one", "two") for i in range(6)
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished" and "error" not in manifest
