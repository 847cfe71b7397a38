"""Example Cog model: stream a short, deterministic text about the prompt, word by word.

A stand-in for a text generator. It counts the prompt's words, names the longest one and spells
out an acrostic ("H is for hello."), yielding one word at a time (each with a trailing space) as
a `ConcatenateIterator`, so clients see it the way they see a language model's stream.
"""

from collections.abc import Iterator

from cog import BaseRunner, ConcatenateIterator, Input, streaming

NUMBERS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def sentences(prompt: str) -> Iterator[str]:
    """The text to stream, one sentence at a time."""
    words = [w.strip(".,!?;:'\"") for w in prompt.split()]
    words = [w for w in words if w]
    if not words:
        yield "You wrote nothing, so there is nothing to say."
        return
    count = NUMBERS[len(words)] if len(words) < len(NUMBERS) else str(len(words))
    yield f"You wrote {count} word{'s' if len(words) != 1 else ''}."
    longest = max(words, key=len)
    yield f"The longest is {longest}, with {len(longest)} letters."
    for word in words:
        yield f"{word[0].upper()} is for {word}."
    yield "That is all."


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load: the "model" is a template."""

    @streaming
    def run(
        self,
        prompt: str = Input(description="Text to write about"),
        max_words: int = Input(description="Stop after this many words", default=24, ge=1, le=200),
        style: str = Input(
            description="plain; shout: upper case; reverse: every word spelled backwards",
            choices=["plain", "shout", "reverse"],
            default="plain",
        ),
    ) -> ConcatenateIterator[str]:
        """Yield up to `max_words` words, each followed by a space."""
        emitted = 0
        for sentence in sentences(prompt):
            for word in sentence.split():
                if emitted == max_words:
                    return
                if style == "shout":
                    word = word.upper()
                elif style == "reverse":
                    word = word[::-1]
                yield word + " "
                emitted += 1
