"""Loading a spec: read the file safely, validate it into a BatchSpec, resolve names and paths."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import Problem, SpecError
from ..rows.rowfile import open_regular
from .model import MAX_RUN_NAME, NAME_PATTERN, ROW_FILE_TYPES, BatchSpec, ModelSpec, RetrySpec
from .problems import problems_from_validation, show_value
from .strict_yaml import load_yaml, yaml_error_place


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with everything resolved that needs the spec file's location."""

    spec: BatchSpec
    path: Path | None  # None for a spec given as an object
    base_dir: Path  # where relative paths in the spec point from
    name: str
    model_names: tuple[str, ...]

    @property
    def source(self) -> str:
        """How to name the spec in messages."""
        return str(self.path) if self.path else "spec"

    def resolve_path(self, value: str) -> Path:
        """A path from the spec: `~` expanded, relative paths taken from the spec's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def canonical_yaml(self) -> str:
        """The spec after defaults, as YAML, for `spec.yaml` in the run folder."""
        data = self.spec.model_dump(mode="json")
        data["name"] = self.name
        for entry, name in zip(data["models"], self.model_names):
            entry["name"] = name
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def spec_hash(self) -> str:
        """A stable hash of the spec after defaults, to notice a spec that changed."""
        data = self.spec.model_dump(mode="json")
        for key in ("scorers", "group_by"):  # absent as before they existed: older runs still resume
            if not data[key]:
                del data[key]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# What belongs where, for messages about a spec in the wrong shape (see problems_from_validation).
_SHAPES = {
    "": "a mapping with `models` and `inputs`",
    "models": (
        "a list of models, each a ref (owner/name[:version]) or a mapping with one of ref/cog/url/deployment"
    ),
    "models[]": "a ref string or a mapping with one of ref/cog/url/deployment",
    "models[].input": "a mapping of input names to values",
    "models[].url": 'an http(s) URL such as "http://host:5000", or a list of them',
    "models[].url[]": 'an http(s) URL such as "http://host:5000"',
    "inputs": f"a list of rows or the path of a {ROW_FILE_TYPES} file of rows",
    "inputs[]": "a row (a mapping of input names to values)",
    "matrix": "a mapping of input names to lists of values, such as `seed: [1, 2]`",
    "matrix.*": "a list of values, such as `[1, 2]` (one value: `[1]`)",
    "retry": "a mapping of max_attempts, initial_wait, max_wait and on_model_error",
    "scorers": 'a list of scorers, each a mapping with one kind, such as `- equals: "{_expected}"`',
    "group_by": "a list of row metadata fields, such as `[_category]`",
    "group_by[]": "the name of a row metadata field, such as `_category`",
}
_KEYS: dict[str, list[str]] = {
    "": list(BatchSpec.model_fields),
    "retry": list(RetrySpec.model_fields),
    "models[]": list(ModelSpec.model_fields),
}


def parse_spec(data: Any, *, path: Path | None = None, base_dir: Path | None = None) -> LoadedSpec:
    """Validate spec data (as loaded from YAML) and resolve names; raises SpecError."""
    source = str(path) if path else "spec"
    if not isinstance(data, Mapping):
        raise SpecError.single(source, "", f"expected {_SHAPES['']}, got {show_value(data)}")
    try:
        spec = BatchSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(problems_from_validation(error, data, source, shapes=_SHAPES, keys=_KEYS)) from None
    base = base_dir if base_dir is not None else (path.parent if path else Path.cwd())
    name = spec.name or (path.stem if path else "batch")
    if not re.match(NAME_PATTERN, name):
        raise SpecError.single(
            source, "name", f"{show_value(name)} is not a valid run name: use letters, digits, . _ -"
        )
    if len(name) > MAX_RUN_NAME:  # the run folder's name adds the time: it must fit a file name
        raise SpecError.single(
            source, "name", f"the run name is {len(name)} characters long: use at most {MAX_RUN_NAME}"
        )
    names = [m.name or _safe_name(m.default_name()) for m in spec.models]
    problems = []
    for index, label in enumerate(names):
        if names.index(label) != index:
            problems.append(
                Problem(
                    source,
                    f"models[{index}]",
                    f"the model name {show_value(label)} is already used by models[{names.index(label)}]: "
                    "give one of them a `name:`",
                )
            )
    if problems:
        raise SpecError(problems)
    return LoadedSpec(spec=spec, path=path, base_dir=base.resolve(), name=name, model_names=tuple(names))


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
    return cleaned


def load_spec(path: str | Path) -> LoadedSpec:
    """Read a spec file with a safe YAML loader and validate it; raises SpecError."""
    path = Path(path)
    try:
        with open_regular(path) as handle:  # not a FIFO, which would hang, nor /dev/zero, which never ends
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpecError.single(str(path), "", f"cannot read the spec: {reason}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        place, message = yaml_error_place(error)
        raise SpecError.single(str(path), place, f"invalid YAML: {message}") from None
    return parse_spec(data, path=path)
