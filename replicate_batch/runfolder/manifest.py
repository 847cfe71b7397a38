"""`manifest.json`, typed: the one reader (`read_manifest`) and the one writer (`write_manifest`).

The runner, resume, merge, rescore and the reports all go through `Manifest`; keys this version does
not know (written by a newer one) are kept in `extra` and written back as they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..redaction import redact

MANIFEST_NAME = "manifest.json"
# JSON allows a lone surrogate (`"\ud800"`) that UTF-8 cannot encode: written as `\ud800`.
UNENCODABLE = "backslashreplace"
RunStatus = str  # running, finished, interrupted, stopped, crashed or merged


@dataclass(frozen=True)
class ManifestModel:
    """One model of the run as resolved: its name, the ref or path it came from, its version."""

    name: str
    model_ref: str = ""
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The model as `manifest.json` holds it."""
        return {"name": self.name, "model_ref": self.model_ref, "version": self.version}


@dataclass
class Manifest:
    """What `manifest.json` says about a run; absent optional facts are None and not written."""

    run_id: str = ""
    started_at: str | None = None
    resumed_at: list[str] = field(default_factory=list)
    name: str = ""
    spec: str | None = None  # the spec's path as given, None for a spec given as an object
    spec_dir: str | None = None  # where the spec's relative paths point from
    spec_hash: str | None = None
    status: RunStatus = ""
    jobs: int = 0
    shard: str | None = None
    models: list[ManifestModel] = field(default_factory=list)
    finished_at: str | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    merged_from: list[dict[str, Any]] | None = None
    merged_at: str | None = None
    models_per_shard: list[Any] | None = None
    # {model: {scorer: {mean, ci_low, ci_high, n, rows, scored, threshold, passed, method}}}
    scores: dict[str, Any] | None = None
    scores_by: dict[str, Any] | None = None  # {group field: {value: {model: {scorer: {...}}}}}
    rescored_at: list[str] = field(default_factory=list)  # each `rescore` of the finished run
    judges: list[dict[str, Any]] | None = None  # [{scorer, model_ref, version}]: each judge's model
    extra: dict[str, Any] = field(default_factory=dict)

    # Written even when None, as every manifest always had them.
    _ALWAYS = frozenset({"run_id", "name", "spec", "spec_dir", "spec_hash", "status", "jobs", "shard"})

    @property
    def model_names(self) -> list[str]:
        """The models' names, in spec order."""
        return [m.name for m in self.models]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """A manifest from its JSON object; values of the wrong type are dropped, never trusted."""
        known = {f.name for f in fields(cls)} - {"extra", "models"}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in known and _fits(key, value):
                values[key] = value
            elif key != "models":
                extra[key] = value
        models = [
            ManifestModel(str(m.get("name") or ""), str(m.get("model_ref") or ""), _text(m.get("version")))
            for m in data.get("models") or []
            if isinstance(m, Mapping) and m.get("name")
        ]
        return cls(**values, models=models, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """The JSON object `manifest.json` holds."""
        data: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name == "models":
                data["models"] = [m.to_json() for m in value]
            elif f.name in self._ALWAYS or value not in (None, []):
                data[f.name] = value
        return {**data, **{k: v for k, v in self.extra.items() if k not in data}}


_TYPES: dict[str, type | tuple[type, ...]] = {
    "resumed_at": list,
    "jobs": int,
    "counts": dict,
    "versions": dict,
    "merged_from": list,
    "models_per_shard": list,
    "judges": list,
    "scores": dict,
    "scores_by": dict,
    "rescored_at": list,
}


def _fits(key: str, value: Any) -> bool:
    if value is None:
        return key not in _TYPES and key not in ("run_id", "name", "status")
    return isinstance(value, _TYPES.get(key, str)) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def read_manifest(run_dir: Path) -> Manifest | None:
    """A run folder's manifest; None when it has none or it cannot be read as a JSON object."""
    try:
        data = json.loads((run_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Manifest.from_json(data) if isinstance(data, dict) else None


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Replace `manifest.json` atomically, redacted (no secret reaches the run folder)."""
    part = run_dir / (MANIFEST_NAME + ".part")
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False, default=str)
    part.write_text(redact(text) + "\n", encoding="utf-8", errors=UNENCODABLE)
    os.replace(part, run_dir / MANIFEST_NAME)
