"""`compare RUN_A RUN_B` on two real runs of a spec (the runner against the emulator) that differ."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from replicate_batch.cli import compare as compare_cli
from replicate_batch.cli import main
from replicate_batch.reports.compare import DIFF_LINES, text_diff
from tests.emulated import emulated, run_scaled

MODELS = ["acme/echo", {"ref": "acme/imagegen", "input": {"num_outputs": 1}}]
ROWS_A = [
    {"id": "a", "prompt": "x"},
    {"id": "b", "prompt": "y", "fail": True},
    {"id": "c", "prompt": "z"},
    {"id": "e", "prompt": "gone"},
]
ROWS_B = [
    {"id": "a", "prompt": "x again"},  # echo's text and imagegen's file change
    {"id": "b", "prompt": "y"},  # fixed
    {"id": "c", "prompt": "z", "fail": True},  # a new failure
    {"id": "d", "prompt": "new"},  # only in B, succeeds
    {"id": "f", "prompt": "new too", "fail": True},  # only in B, fails: also a new failure
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two runs of the same models: A, then B with the rows changed."""
    base = tmp_path_factory.mktemp("compare")
    found = []
    with emulated():
        for name, rows in (("a", ROWS_A), ("b", ROWS_B)):
            spec: dict[str, Any] = {"name": "sweep", "models": MODELS, "inputs": rows}
            spec_path = base / f"{name}.yaml"
            spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
            summary = run_scaled(spec_path, base / name)
            assert summary.run_dir is not None
            found.append(summary.run_dir)
    yield found[0], found[1]


def compare(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def section(out: str, title: str) -> str:
    """The lines of one section of the text summary."""
    match = re.search(rf"^{title} \(\d+\):\n((?:  .*\n)*)", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def test_regressions_fixes_and_changes_are_reported(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run_a, run_b = runs
    code, out, _ = compare(capsys, run_a, run_b)
    assert code == 1
    assert "6 jobs in both, 2 only in A, 4 only in B" in out
    assert section(out, "new failures") == (
        "  echo · c  succeeded -> failed: asked to fail\n  echo · f  only in B -> failed: asked to fail\n"
    )
    assert section(out, "fixed failures") == "  echo · b  failed -> succeeded\n"
    changed = section(out, "outputs changed")
    assert "  echo · a\n    @@ -1 +1 @@\n    -x\n    +x again\n" in changed
    assert re.search(
        r"  imagegen · a\n    file files/imagegen/a/\S+\.png: sha256 [0-9a-f]{12} -> [0-9a-f]{12}\n", changed
    )
    assert "imagegen · b" not in changed and "echo · c" not in changed  # unchanged, or not comparable
    assert section(out, "only in A") == "  echo · e (succeeded)\n  imagegen · e (succeeded)\n"
    assert "  echo · f (failed)\n" in section(out, "only in B")
    table = {
        line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("echo ", "total "))
    }
    assert table["echo"][:4] == ["4", "5", "1", "2"]  # jobs A, B, failed A, B
    assert table["total"][:4] == ["8", "10", "1", "2"]
    assert out.rstrip().endswith(f"compare page: {run_b / 'compare.html'}")


def test_compare_html_shows_the_changes_with_both_images(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_a, run_b = runs
    output = tmp_path / "pages" / "sweep.html"
    code, out, _ = compare(capsys, run_a, run_b, "--output", output)
    assert code == 1 and out.rstrip().endswith(f"compare page: {output}")
    page = output.read_text(encoding="utf-8")
    for text in ("New failures (2)", "Fixed failures (1)", "Outputs changed (2)", "Only in A (2)"):
        assert text in page
    assert "<span class='del'>-x</span>\n<span class='add'>+x again</span>" in page
    images = re.findall(r"<img class='thumb' loading='lazy' src='([^']+)'", page)
    assert len(images) == 2  # imagegen · a, in A and in B
    assert all((output.parent / unquote(src)).is_file() for src in images)
    assert not re.search(r"(src|href)=['\"]https?:", page)


def test_a_run_against_itself_has_no_new_failures(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, run_b = runs
    code, out, _ = compare(capsys, run_b, run_b, "--output", tmp_path / "same.html")
    assert code == 0  # B has failures, but none that A did not have
    assert "new failures: none" in out and "outputs changed: none" in out


def test_a_folder_that_is_not_a_run_is_a_usage_error(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = compare(capsys, runs[0], tmp_path)
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path} is not a run folder: it has no results.csv\n"
    with pytest.raises(SystemExit) as exited:
        main(["compare", str(runs[0])])
    assert exited.value.code == 2
    assert "RUN_B" in capsys.readouterr().err


def test_an_internal_error_is_never_read_as_new_failures(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash is a bug, and no bug can be kept in the code to test this: one is put in its place.
    def broken(*runs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(compare_cli, "compare_runs", broken)
    code, out, err = compare(capsys, *runs)
    assert (code, out) == (2, "")  # not 1, which a scheduled sweep reads as "new failures"
    assert "RuntimeError: a bug" in err
    assert err.endswith("error: compare stopped on an internal error (above); nothing was compared\n")


def test_long_text_diffs_are_cut() -> None:
    before = "\n".join(f"line {i}" for i in range(200))
    after = "\n".join(f"line {i}!" for i in range(200))
    diff = text_diff(before, after)
    assert len(diff) == DIFF_LINES + 1 and diff[-1].endswith("more diff lines")
    pretty = text_diff('{"a": 1, "b": 2}', '{"b": 2, "a": 1}')  # JSON is compared line by line
    assert '-  "a": 1,' in pretty and '+  "a": 1' in pretty
