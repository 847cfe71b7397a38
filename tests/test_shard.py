"""One sweep over several machines: `--shard K/N` slices the jobs, `merge` puts the folders together."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
import yaml

from replicate_batch import load_results
from replicate_batch.cli import main
from replicate_batch.sharding import parse_shard
from tests.emulator_models import fake_png
from tests.replicate_emulator import Emulator


def write_spec(tmp_path: Path, rows: int = 12) -> Path:
    spec = {
        "name": "sweep",
        "models": [{"ref": "acme/imagegen", "input": {"num_outputs": 1}}],
        "inputs": [{"id": f"r{i}", "prompt": f"p{i}", "seed": i} for i in range(rows)],
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_shards_split_the_jobs_and_merge_into_one_run(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path)
    for k in (1, 2, 3):
        out = tmp_path / f"machine{k}"
        assert main([str(spec), "--shard", f"{k}/3", "--output-dir", str(out), "--quiet"]) == 0
    shards = [next((tmp_path / f"machine{k}").iterdir()) for k in (1, 2, 3)]
    frames = [load_results(d) for d in shards]
    assert all(0 < len(df) < 12 for df in frames)  # every shard got some work, none got all
    ids = [set(df.job_id) for df in frames]
    assert sum(len(s) for s in ids) == 12 and len(set.union(*ids)) == 12  # disjoint, complete
    assert emu.count("create") == 12

    merged = tmp_path / "merged" / "sweep-all"
    capsys.readouterr()
    assert main(["merge", *map(str, shards), "--into", str(merged)]) == 0
    summary = capsys.readouterr().out.splitlines()  # the whole sweep's table, though nothing scored it
    assert summary[0].split()[:4] == ["model", "jobs", "succeeded", "failed"]
    assert summary[1].split()[:4] == ["imagegen", "12", "12", "0"]
    df = load_results(merged)
    assert sorted(df.row_id, key=lambda r: int(r[1:])) == [f"r{i}" for i in range(12)]
    assert set(df.run_id) == {"sweep-all"} and set(df.status) == {"succeeded"}
    for _, row in df.iterrows():
        seed = int(row["input.seed"])
        assert (merged / row.files[0]).read_bytes() == fake_png(f"p{seed}", seed, 0, "K_EULER")
    assert (merged / "report.html").is_file() and (merged / "journal.jsonl").is_file()


def test_the_same_shard_always_gets_the_same_jobs(emu: Emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, rows=6)
    for out in ("a", "b"):
        assert main([str(spec), "--shard", "2/2", "--output-dir", str(tmp_path / out), "--quiet"]) == 0
    first, second = (set(load_results(tmp_path / out).job_id) for out in ("a", "b"))
    assert first == second


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "1"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected K/N"):
        parse_shard(text)


def test_merging_runs_of_different_specs_is_refused(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(write_spec(tmp_path, rows=2)), "--output-dir", str(tmp_path / "one"), "--quiet"]) == 0
    assert main([str(write_spec(tmp_path, rows=3)), "--output-dir", str(tmp_path / "two"), "--quiet"]) == 0
    runs = [str(next((tmp_path / name).iterdir())) for name in ("one", "two")]
    assert main(["merge", *runs, "--into", str(tmp_path / "merged")]) == 2
    assert "different specs" in capsys.readouterr().err


def test_merging_a_run_another_process_is_writing_is_refused(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for k in (1, 2):
        out = str(tmp_path / f"machine{k}")
        assert (
            main([str(write_spec(tmp_path, rows=4)), "--shard", f"{k}/2", "--output-dir", out, "--quiet"])
            == 0
        )
    shards = [next((tmp_path / f"machine{k}").iterdir()) for k in (1, 2)]
    merged = tmp_path / "merged"
    with open(shards[1] / ".lock", "a+", encoding="utf-8") as lock:  # held as a running run holds it
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        capsys.readouterr()
        assert main(["merge", *map(str, shards), "--into", str(merged)]) == 2
        assert capsys.readouterr().err == (
            f"error: {shards[1]} is being written by process {os.getpid()}: "
            "wait for it to end, then merge it\n"
        )
        assert not merged.exists()
    assert main(["merge", *map(str, shards), "--into", str(merged)]) == 0  # once the run has ended
    assert len(load_results(merged)) == 4


def test_a_merged_run_aggregates_the_scores_of_every_shard(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "scored.yaml"
    rows = [{"id": f"r{i}", "prompt": f"p{i}", "_group": "low" if i < 6 else "high"} for i in range(12)]
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "scored",
                "models": ["acme/echo"],
                "inputs": rows,
                "group_by": ["_group"],
                "scorers": [{"name": "first", "regex": "^p[01]$", "threshold": 0.1}],
            }
        )
    )
    for k in (1, 2):
        assert main([str(spec), "--shard", f"{k}/2", "--output-dir", str(tmp_path / f"m{k}"), "--quiet"]) == 0
    shards = [next((tmp_path / f"m{k}").iterdir()) for k in (1, 2)]
    merged = tmp_path / "merged"
    capsys.readouterr()
    assert main(["merge", *map(str, shards), "--into", str(merged)]) == 0
    out = capsys.readouterr().out.splitlines()  # the whole sweep's summary, as a run prints it
    assert out[0].split()[-1] == "first" and out[1].split()[:3] == ["echo", "12", "12"]
    assert out[1].endswith("0.17 [0.05, 0.45]") and out[-1] == f"run folder: {merged}"

    manifest = json.loads((merged / "manifest.json").read_text())
    first = manifest["scores"]["echo"]["first"]
    assert (first["n"], first["rows"], first["scored"]) == (12, 12, 12)
    assert first["mean"] == pytest.approx(2 / 12)
    assert manifest["scores_by"]["_group"]["low"]["echo"]["first"]["mean"] == pytest.approx(2 / 6)
    assert manifest["status"] == "merged" and manifest["counts"] == {"succeeded": 12}
    assert sorted(load_results(merged)["score.first"]) == [0.0] * 10 + [1.0] * 2
    assert "0.17 [0.05, 0.45]" in (merged / "report.html").read_text()

    # A threshold the whole sweep misses makes the merge exit 3, as a run of it would (the shards,
    # each with its own share of the rows, cannot tell): CI gates a sharded sweep on its merge.
    stricter = yaml.safe_load(spec.read_text())
    stricter["scorers"][0]["threshold"] = 0.2
    spec.write_text(yaml.safe_dump(stricter))
    for k in (1, 2):
        main([str(spec), "--shard", f"{k}/2", "--output-dir", str(tmp_path / f"s{k}"), "--quiet"])
    shards = [next((tmp_path / f"s{k}").iterdir()) for k in (1, 2)]
    capsys.readouterr()
    junit = tmp_path / "ci" / "merged.xml"
    assert main(["merge", *map(str, shards), "--into", str(tmp_path / "strict"), "--junit", str(junit)]) == 3
    assert capsys.readouterr().err == (
        f"threshold not met: echo / first: mean 0.17 [0.05, 0.45] < 0.20\njunit: {junit}\n"
    )
    assert "threshold not met: mean 0.17 [0.05, 0.45] &lt; 0.20" in junit.read_text(encoding="utf-8")
