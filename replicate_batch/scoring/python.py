"""`python: FILE.py:FUNCTION`: a function of the user's gives the score; loaded once, never raises.

The function is called with those keyword arguments its signature names among `output`, `row`,
`input`, `files` and `model`, and returns a number, a bool, None (unscored) or `(number, note)`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import math
import numbers
import operator
import sys
import traceback
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..spec.problems import did_you_mean, show_value
from .facts import Check, JobFacts
from .score import ONE, ZERO, Score, unscored

ARGUMENTS = ("output", "row", "input", "files", "model")


class LoadError(ValueError):
    """A python scorer that cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class ScorerFunction:
    """A loaded scorer function and the keyword arguments it takes."""

    function: Callable[..., Any]
    arguments: tuple[str, ...]


def resolve_file(file: str, spec_dir: Path) -> Path:
    """The scorer file: `~` expanded, a relative path taken from the spec's folder."""
    path = Path(file).expanduser()
    return (path if path.is_absolute() else spec_dir / path).resolve()


def load_module(path: Path) -> ModuleType:
    """Run a scorer file as a module once; raises LoadError."""
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    name = "replicate_batch_scorers_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    # Let the file import helper modules that sit beside it, as a script would.
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[name]
        if isinstance(error, KeyboardInterrupt):
            raise
        raise LoadError(f"{path.name} failed to load: {_describe(error, path)}") from None
    finally:
        with contextlib.suppress(ValueError):  # the file may have tidied sys.path itself
            sys.path.remove(str(path.parent))
    return module


def load_function(
    reference: str, spec_dir: Path, modules: MutableMapping[Path, ModuleType]
) -> ScorerFunction:
    """The function `FILE.py:FUNCTION` names, its file loaded once per `modules`; raises LoadError."""
    file, _, name = reference.rpartition(":")
    path = resolve_file(file, spec_dir)
    if path not in modules:
        modules[path] = load_module(path)
    module = modules[path]
    function = getattr(module, name, None)
    if function is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise LoadError(f"{path.name} has no function `{name}`{did_you_mean(name, names)}")
    if not callable(function):
        raise LoadError(f"`{name}` in {path.name} is not a function")
    return ScorerFunction(function, _arguments(function, name))


def _arguments(function: Callable[..., Any], name: str) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        raise LoadError(f"`{name}` has no signature to read its arguments from") from None
    taken: list[str] = []
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return ARGUMENTS
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        required = parameter.default is inspect.Parameter.empty
        if parameter.name in ARGUMENTS and parameter.kind is not inspect.Parameter.POSITIONAL_ONLY:
            taken.append(parameter.name)
        elif required:
            raise LoadError(
                f"`{name}` takes `{parameter.name}`, which scorers are not given: "
                f"name its arguments among {', '.join(ARGUMENTS)}"
            )
    return tuple(taken)


# Each argument made only when the function names it: copies, so a function cannot change the job.
_ARGUMENT: dict[str, Callable[[JobFacts], Any]] = {
    "output": operator.attrgetter("value"),
    "row": lambda facts: dict(facts.row),
    "input": lambda facts: dict(facts.input),
    "files": lambda facts: list(facts.files),
    "model": operator.attrgetter("model"),
}


def score_of(result: Any) -> Score:
    """A function's return value as a Score: a number, a bool, None or (number, note)."""
    if result is True or result is False:  # what most scorer functions return
        return ONE if result else ZERO
    note = ""
    if isinstance(result, tuple) and len(result) == 2:
        result, note = result[0], "" if result[1] is None else str(result[1])
    if result is None:
        return Score(None, note)
    if type(result).__module__ == "numpy" and hasattr(result, "item"):
        result = result.item()  # numpy's bool_, int64, float32, ...: their Python value
    if isinstance(result, (bool, numbers.Real)):
        value = float(result)
        if math.isfinite(value):
            return Score(value, note)
    returned = show_value(result)
    return unscored(f"the scorer returned {returned}: expected a number, a bool, None or (number, note)")


def python_check(scorer: ScorerFunction) -> Check:
    """A loaded scorer function as a Check: each job's arguments made as the function names them."""
    function = scorer.function
    makers = tuple((name, _ARGUMENT[name]) for name in scorer.arguments)

    def check(facts: JobFacts) -> Score:
        arguments = {}
        for name, make in makers:  # a loop, not a comprehension: this runs for every job
            arguments[name] = make(facts)
        try:
            result = function(**arguments)
        except (Exception, SystemExit) as error:
            return unscored(f"{type(error).__name__}: {error}")
        return score_of(result)

    return check


def _describe(error: BaseException, path: Path) -> str:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError):
        return text
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)
    ]
    return f"{text} (line {lines[-1]})" if lines else text
