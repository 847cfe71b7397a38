"""What a server, a model or a rows file says is never trusted: the token stays secret, the terminal sane.

A server or proxy that quotes the request's headers in an error body hands the runner the API token
inside a message; model outputs and row ids may hold terminal escape sequences. Both are run for real
(the emulator, the command line) and everything the runner wrote or printed is searched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from replicate_batch import load_results
from replicate_batch.cli import main
from replicate_batch.cli.terminal import printable
from replicate_batch.redaction import REDACTED, redact, redact_cells
from tests.emulated import TOKEN, emulated
from tests.replicate_emulator import Emulator, Fault

# Sets the window title, rings the bell, clears the screen, moves the cursor home.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[H"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """The spec as JSON (which is YAML): control characters written as `\\u001b` escapes."""
    path.write_text(json.dumps({"retry": {"initial_wait": 0.01, "max_wait": 0.02}, **spec}), encoding="utf-8")
    return path


def files_below(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_token_an_error_body_quotes_is_written_and_printed_nowhere(
    emu: Emulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    spec = write_spec(
        tmp_path / "echo.json",
        {"models": ["acme/echo"], "inputs": [{"id": "one", "prompt": "a"}, {"id": "two", "prompt": "b"}]},
    )
    # Row one's create is refused with the request's headers quoted back: the row fails with it.
    emu.add_fault(
        Fault("create", status=400, echo_headers=True, match=lambda body: body["input"]["prompt"] == "a")
    )
    assert main([str(spec), "--output-dir", str(runs)]) == 1
    # Setup refused the same way: the error goes to stderr.
    emu.add_fault(Fault("model", status=403, echo_headers=True))
    assert main([str(spec), "--output-dir", str(tmp_path / "refused")]) == 2

    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    assert f"authorization': 'Bearer {REDACTED}'" in err  # the message was printed, less the token
    failed = load_results(runs).set_index("row_id").loc["one"]
    assert failed.status == "failed" and f"Bearer {REDACTED}" in failed.error
    written = files_below(runs)
    assert {p.name for p in written} >= {"results.csv", "journal.jsonl", "manifest.json", "report.html"}
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_both_forms_of_the_authorization_header_are_redacted_whatever_the_token() -> None:
    other = "r8_" + "Zq3" * 12 + "x"  # a real token's shape, but not the one in the environment
    text = f"headers: {{'Authorization': 'Token {other}'}} and Bearer {other}, bare {other}"
    assert redact(text) == (
        f"headers: {{'Authorization': 'Token {REDACTED}'}} and Bearer {REDACTED}, bare {REDACTED}"
    )
    for kept in (
        "export REPLICATE_API_TOKEN=r8_... (from your account)",
        "files/layer8_weights_of_the_model_v2.bin",
    ):
        assert redact(kept) == kept


def test_a_rows_cells_are_redacted_each_whatever_the_cells_beside_them() -> None:
    other = "r8_" + "Zq3" * 12 + "x"
    cells = ["run", 3, "", f"error: Bearer {other}", None, 0.5, "plain"]
    assert redact_cells(cells) == ["run", 3, "", f"error: Bearer {REDACTED}", None, 0.5, "plain"]
    assert redact_cells(["run", 3, "plain"]) == ["run", 3, "plain"]
    assert redact_cells(["a word", other, "x"]) == ["a word", REDACTED, "x"]  # at a cell's start
    # Searched together but never across two cells: a token's halves stay as they are.
    halves = [other[:20], other[20:], "r8_", "Zq3" * 12]
    assert redact_cells(halves) == halves


def test_control_characters_from_outputs_and_row_ids_reach_the_terminal_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": f"row{HOSTILE}one", "prompt": f"{HOSTILE}hello"}, {"id": "two", "prompt": "plain"}]
    with emulated():
        spec = write_spec(tmp_path / "a.json", {"models": ["acme/echo"], "inputs": rows})
        assert main([str(spec), "--output-dir", str(tmp_path / "a")]) == 0
        rows[0]["prompt"] = f"{HOSTILE}hello again"
        rows[1]["fail"] = True
        spec = write_spec(tmp_path / "b.json", {"models": ["acme/echo"], "inputs": rows})
        assert main([str(spec), "--output-dir", str(tmp_path / "b")]) == 1
        printed = capsys.readouterr()
        # Keys the spec gets wrong are named in errors: escaped too.
        bad = write_spec(tmp_path / "bad.json", {"models": ["acme/echo"], "inputs": [{f"pr{HOSTILE}": "x"}]})
        assert main([str(bad)]) == 2
        refused = capsys.readouterr()
    assert r"pr\x1b]0;pwned" in refused.err
    (folder_a,), (folder_b,) = (tmp_path / "a").iterdir(), (tmp_path / "b").iterdir()
    outputs = load_results(folder_b).set_index("row_id").output
    assert outputs[f"row{HOSTILE}one"] == f"{HOSTILE}hello again"  # stored as the model said it

    assert main(["compare", str(folder_a), str(folder_b)]) == 1
    compared = capsys.readouterr()
    assert r"row\x1b]0;pwned\x07\x1b[2J\x1b[Hone" in compared.out  # the row id, shown escaped
    assert r"+\x1b]0;pwned\x07\x1b[2J\x1b[Hhello again" in compared.out  # the output's diff line
    for text in (printed.out, printed.err, compared.out, compared.err, refused.out, refused.err):
        assert not RAW_CONTROL.search(text), text


def test_printable_keeps_lines_and_writes_other_controls_out() -> None:
    assert printable("a\tb\nc\r\x00\x7f\x9b\u202eend") == "a\tb\nc\\x0d\\x00\\x7f\\x9b\\u202eend"
