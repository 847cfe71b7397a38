"""Hostile input is a clear, fast error: exit 2, nothing created, the file and the place named.

Each case runs the real command in a child process with its memory capped and a deadline, so input
that would make it grow without bound or wait forever fails the test instead of taking the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replicate_batch.errors import SpecError
from replicate_batch.rows.rowset import load_rows
from replicate_batch.spec import strict_yaml
from replicate_batch.spec.loading import load_spec
from replicate_batch.spec.problems import show_value

MEMORY_CAP = 1 << 30  # bytes of address space for the child: a dry run needs about a tenth of it
DEADLINE_S = 30  # a child still running then is killed and the test fails
QUICK_S = 20  # what "refused at once" may take a child on a loaded machine: mostly Python's start

# Nine lists of nine, each made of the one before: 9**9 strings when expanded, in ten lines.
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]\n" for before, name in zip("abcdefgh", "bcdefghi")
)
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(folder: Path, *args: str) -> tuple[int, str, float]:
    """`python -m replicate_batch ARGS` in folder: exit status, stderr and seconds taken."""
    env = {**os.environ, "REPLICATE_API_TOKEN": "r8_unused", "REPLICATE_BASE_URL": "http://127.0.0.1:9"}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "replicate_batch", *args, "--output-dir", "runs"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        preexec_fn=_limit_memory,
    )
    return done.returncode, done.stderr, time.monotonic() - start


def assert_refused(folder: Path, args: tuple[str, ...], *expected: str) -> None:
    code, err, took_s = run_cli(folder, *args)
    assert code == 2, err
    assert "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    assert took_s < QUICK_S, (took_s, err)
    assert not (folder / "runs").exists()


def test_an_alias_bomb_in_the_spec_is_refused_at_once_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(BOMB + "models: [acme/echo]\ninputs: [{prompt: *i}]\n")
    assert_refused(
        tmp_path, ("bomb.yaml",), "error: bomb.yaml: line 7, column ", "invalid YAML: the alias *f takes"
    )


def test_an_alias_bomb_in_a_rows_file_is_refused_at_once_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "rows.yaml").write_text(BOMB + "rows: [{prompt: *i}]\n")
    (tmp_path / "spec.yaml").write_text("models: [acme/echo]\ninputs: rows.yaml\n")
    assert_refused(tmp_path, ("spec.yaml",), "error: spec.yaml: rows.yaml line 7, column ", "the alias *f")


@pytest.mark.parametrize("where", ["spec", "rows"])
def test_an_alias_bomb_is_refused_in_milliseconds(where: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    if where == "spec":
        spec.write_text(BOMB + "models: [acme/echo]\ninputs: [{prompt: *i}]\n")
    else:
        (tmp_path / "rows.yaml").write_text(BOMB + "rows: [{prompt: *i}]\n")
        spec.write_text("models: [acme/echo]\ninputs: rows.yaml\n")
    start = time.monotonic()
    with pytest.raises(SpecError, match=r"line 7, column \d+: invalid YAML: the alias \*f takes"):
        load_rows(load_spec(spec))
    assert time.monotonic() - start < 1


@pytest.mark.parametrize("rows", ["rows.csv", "rows.yaml"])  # read in passes, and read whole
def test_a_rows_file_that_is_a_fifo_is_refused_not_waited_on(rows: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / rows)  # nobody ever writes to it
    (tmp_path / "spec.yaml").write_text(f"models: [acme/echo]\ninputs: {rows}\n")
    assert_refused(
        tmp_path,
        ("spec.yaml",),
        f"error: spec.yaml: inputs: cannot read the rows file {tmp_path / rows}: it is a FIFO",
        "not a regular file",
    )


@pytest.mark.parametrize("rows", ["rows.jsonl", "rows.json"])
def test_a_rows_file_linked_to_dev_zero_is_refused_not_read_forever(rows: str, tmp_path: Path) -> None:
    (tmp_path / rows).symlink_to("/dev/zero")
    (tmp_path / "spec.yaml").write_text(f"models: [acme/echo]\ninputs: {rows}\n")
    assert_refused(
        tmp_path,
        ("spec.yaml",),
        f"cannot read the rows file {tmp_path / rows}: it is a character device (it links to /dev/zero)",
    )


def test_a_rows_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").mkdir()
    (tmp_path / "spec.yaml").write_text("models: [acme/echo]\ninputs: rows.csv\n")
    with pytest.raises(SpecError, match=r"rows\.csv: it is a folder, not a regular file"):
        load_rows(load_spec(tmp_path / "spec.yaml"))


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_spec_that_is_not_a_regular_file_is_refused(kind: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    os.mkfifo(spec) if kind == "fifo" else spec.symlink_to("/dev/zero")
    assert_refused(tmp_path, ("spec.yaml",), "error: spec.yaml: cannot read the spec: it is a")


def test_aliases_may_repeat_defaults_in_proportion_but_not_multiply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strict_yaml, "ALIAS_WEIGHT_FLOOR", 1000)  # the ratio decides, not the floor
    rows = "".join(f"  - {{<<: *d, prompt: p{i}}}\n" for i in range(2000))  # 10,000 values repeated
    path = tmp_path / "spec.yaml"
    path.write_text(f"models: [{{ref: acme/echo, input: &d {{seed: 3, repeat: 2}}}}]\ninputs:\n{rows}")
    loaded = load_spec(path)
    assert [dict(row.values) for row in load_rows(loaded)][-1] == {"seed": 3, "repeat": 2, "prompt": "p1999"}
    path.write_text(BOMB.replace("*h", "*a") + "models: [acme/echo]\ninputs: [{prompt: *i}]\n")  # 9 * 9**3
    with pytest.raises(
        SpecError, match=r"line 4, column \d+: invalid YAML: the alias \*c takes the document"
    ):
        load_spec(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "models: [acme/echo]\ninputs: [{prompt: &a [x, *a]}]\n",
            "line 2, column 26: invalid YAML: the alias *a is inside",
        ),
        ("models: [acme/echo]\ninputs: " + "[" * 500 + "]" * 500 + "\n", "nested more than 200 levels"),
        ("models: [acme/echo]\ninputs: [{seed: " + "9" * 5000 + "}]\n", "a number of 5,000 characters"),
    ],
)
def test_yaml_beyond_what_a_spec_needs_is_refused_with_its_place(
    text: str, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("rows.json", '[{"seed": ' + "9" * 5000 + "}]", "rows.json: a number has more than 4,300 digits"),
        ("rows.json", "[" * 100_000 + "]" * 100_000, "rows.json: the JSON is nested too deeply to read"),
        ("rows.jsonl", '{"a": 1}\n{"seed": ' + "9" * 5000 + "}\n", "rows.jsonl line 2: a number has more"),
    ],
)
def test_json_rows_beyond_pythons_limits_are_refused_with_their_place(
    name: str, text: str, expected: str, tmp_path: Path
) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "spec.yaml").write_text(f"models: [acme/echo]\ninputs: {name}\n")
    with pytest.raises(SpecError) as caught:
        load_rows(load_spec(tmp_path / "spec.yaml"))
    assert f"spec.yaml: {expected}" in str(caught.value), str(caught.value)


def test_a_value_in_a_message_is_cut_without_being_rendered_whole() -> None:
    value: list[object] = ["lol"] * 9
    for _ in range(40):  # 9**41 strings if it were written out: only its start may ever be
        value = [value] * 9
    start = time.monotonic()
    shown = show_value(value)
    assert time.monotonic() - start < 1
    assert len(shown) == 60 and shown.startswith("[[[[") and shown.endswith("...]")
    assert show_value("x" * 10_000_000) == "'" + "x" * 55 + "...'"
    assert show_value({"a": [1, None, True]}) == '{"a": [1, null, true]}'
