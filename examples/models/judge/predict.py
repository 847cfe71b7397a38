"""Example Cog model: grade an answer against a reference, the way a judge prompt asks.

A stand-in for a language model used as a judge. It reads the `Reference:` line and the `Answer:`
line of its prompt (each label at the start of a line; the text is the rest of that line) and checks
whether every word of the reference appears in the answer as a whole word, ignoring case (a word is
a run of letters, digits and underscores, so "don't" is "don" and "t"). It understands nothing:
"not blue" contains "blue". It replies the way a judge prompt asks a model to: `A` (every word
found) or `B` in `choice` mode, `Score: N/10` (the share of reference words found, rounded) in
`score` mode. A prompt it cannot read gets a reply saying why, with neither a grade letter nor a
score in it, so a reader of replies finds nothing to read.
"""

import re

from cog import BaseRunner, Input

WORD = re.compile(r"\w+")
LABELS = ("Reference:", "Answer:")


def labelled_lines(prompt: str) -> dict[str, str]:
    """The text after each label's first line-start occurrence, by label."""
    found: dict[str, str] = {}
    for line in prompt.splitlines():
        stripped = line.lstrip()
        for label in LABELS:
            if label not in found and stripped.startswith(label):
                found[label] = stripped[len(label) :].strip()
    return found


def words(text: str) -> list[str]:
    """The words of `text`, case-folded, in order, without repeats."""
    return list(dict.fromkeys(word.casefold() for word in WORD.findall(text)))


def grade(prompt: str, mode: str) -> str:
    """The judge's reply to `prompt`: a grade, or a sentence saying why there is none."""
    found = labelled_lines(prompt)
    missing = [label for label in LABELS if label not in found]
    if missing:
        return f"I cannot grade this: the prompt has no {' or '.join(missing)} line."
    reference = words(found["Reference:"])
    if not reference:
        return "I cannot grade this: the Reference: line has no words."
    answer = set(words(found["Answer:"]))
    hits = sum(word in answer for word in reference)
    if mode == "score":
        tenths = (20 * hits + len(reference)) // (2 * len(reference))  # 10 * share, halves round up
        return f"Score: {tenths}/10"
    return "A" if hits == len(reference) else "B"


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load: the "model" is a word match."""

    def run(
        self,
        prompt: str = Input(description="A prompt with a `Reference: ...` line and an `Answer: ...` line"),
        mode: str = Input(
            description="choice: reply A (every reference word is in the answer) or B; "
            "score: reply `Score: N/10`, N the share of reference words found",
            choices=["choice", "score"],
            default="choice",
        ),
    ) -> str:
        """Grade the answer against the reference."""
        return grade(prompt, mode)
