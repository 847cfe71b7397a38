"""Judges: scorers that need a prediction. What to send the judge, what its reply means, and its key.

The executor runs the judge's prediction like any other (same pool, retries, journal); this module
only says what goes in (`render_judge_input`), how the reply is read (`read_reply`), and which
earlier prediction can be reused (`judge_cache_key`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import JudgeEntry
from .fields import MISSING, as_text, json_of, read_path
from .numeric import parse_number
from .score import Score, unscored
from .template import Template, parse_template, render

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class Judge:
    """A checked `judge:` scorer: its entry, its place in the spec and its parsed `ask:` and reading."""

    entry: JudgeEntry
    place: str  # `scorers[3]`
    ask: Mapping[str, Template | Any]  # judge input name -> a parsed template, or a value sent as given
    reading: re.Pattern[str] | None  # the compiled `regex`, or the whole-word pattern of the `choices`

    @property
    def name(self) -> str:
        """The scorer's name (column `score.<name>`)."""
        return self.entry.name


def judge_from(entry: JudgeEntry, place: str) -> Judge:
    """A Judge for a validated entry: templates parsed and the reply pattern compiled once."""
    ask = {
        key: parse_template(value) if isinstance(value, str) else value for key, value in entry.ask.items()
    }
    reading: re.Pattern[str] | None = None
    if entry.regex is not None:
        reading = re.compile(entry.regex)
    elif entry.choices is not None:
        # Longest first, so that of two keys starting at one place the longer whole word wins.
        keys = sorted(entry.choices, key=len, reverse=True)
        reading = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(key) for key in keys) + r")(?!\w)")
    return Judge(entry=entry, place=place, ask=ask, reading=reading)


def render_judge_input(
    judge: Judge, *, output_text: str, output_value: Any, row: Mapping[str, Any]
) -> dict[str, Any] | Score:
    """The judge's `ask:` fields for one job (templates rendered), or unscored when a value is missing."""
    sent: dict[str, Any] = {}
    for key, value in judge.ask.items():
        if isinstance(value, Template):
            text = render(value, row=row, output_text=output_text, output_value=output_value)
            if isinstance(text, Score):
                return text
            sent[key] = text
        else:
            sent[key] = value
    return sent


def read_reply(judge: Judge, reply: Any) -> Score:
    """The judge's reply as a score, by `choices`, `regex` (+ `scale`) or `field`; the reply is the note.

    A reply that cannot be read is unscored, never a 0.
    """
    text = as_text(reply)
    entry = judge.entry
    if entry.choices is not None and judge.reading is not None:
        found = judge.reading.search(text)
        return Score(entry.choices[found.group()] if found else None, text)
    if entry.regex is not None and judge.reading is not None:
        match = judge.reading.search(text)
        number = parse_number(match.group(1)) if match and match.group(1) is not None else None
        if number is None:
            return unscored(text)
        return Score(number / entry.scale if entry.scale else number, text)
    if entry.field is not None:
        value = read_path(_json_reply(reply), entry.field)
        if isinstance(value, bool):
            return Score(float(value), text)
        # A number written as text (`"4"`) is not a number in JSON: the reply cannot be read.
        return Score(parse_number(value) if isinstance(value, (int, float)) else None, text)
    return unscored(text)


def _json_reply(reply: Any) -> Any:
    """A reply as JSON: a value as is; text parsed, also inside a ``` fence as language models write it."""
    if not isinstance(reply, str):
        return reply
    fenced = _FENCE.match(reply.strip())
    return json_of(fenced["body"] if fenced else reply.strip()) if reply.strip() else MISSING


def judge_cache_key(judge: Judge, sent_input: Mapping[str, Any]) -> str:
    """The key of a judge prediction: (scorer name, judge entry, input sent); not how the reply is read."""
    entry = judge.entry.judge
    model = {"ref": entry} if isinstance(entry, str) else entry
    key = json.dumps(
        ["judge", judge.name, model, sent_input], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]
