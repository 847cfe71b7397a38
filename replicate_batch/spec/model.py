"""The spec file's typed model: BatchSpec, ModelSpec and RetrySpec, frozen pydantic objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .problems import show_value

# `\Z`, not `$`: `$` also matches before a final newline, which would let "ok\n" into folder names.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z"
MAX_RUN_NAME = 100
REF_PATTERN = re.compile(
    r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)(?::(?P<version>[A-Za-z0-9_.-]+))?\Z"
)
DEPLOYMENT_PATTERN = re.compile(r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)\Z")
PLACES = ("ref", "cog", "url", "deployment")  # where a model entry can run: exactly one of these keys


ROW_FILE_TYPES = ".csv, .jsonl, .json or .yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML reads `yes`/`no`/`on`/`off` as booleans, which pydantic would take as 1 and 0.
        if not isinstance(value, bool) or info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        kinds = {annotation, *get_args(annotation)}
        if int in kinds or float in kinds:
            raise ValueError(f"expected a number, got {show_value(value)}")
        return value


def _check_name(value: str | None) -> str | None:
    if value is not None and not re.match(NAME_PATTERN, value):
        raise ValueError(
            "expected letters, digits, '.', '_' or '-' (starting with a letter or digit), "
            f"got {show_value(value)}"
        )
    return value


def _shape_of(value: Any) -> str | None:
    """Which branch of a list-or-string field a value belongs to; None for neither (a shape error)."""
    if isinstance(value, str):
        return "one"
    return "many" if isinstance(value, list) else None


_ONE_OR_MANY = Discriminator(_shape_of, custom_error_type="shape", custom_error_message="wrong shape")
Urls = Annotated[Annotated[str, Tag("one")] | Annotated[list[str], Tag("many")], _ONE_OR_MANY]
RowsSource = Annotated[  # a rows file's path, or the rows themselves
    Annotated[str, Tag("one")] | Annotated[list[dict[str, Any]], Tag("many")], _ONE_OR_MANY
]


class RetrySpec(_Strict):
    """How often and how patiently a prediction is retried."""

    max_attempts: int = Field(4, ge=1)
    """Tries per prediction, counting the first."""
    initial_wait: float = Field(1.0, ge=0)
    """Seconds before the second try; doubles with jitter."""
    max_wait: float = Field(60.0, ge=0)
    """Upper bound of one wait, in seconds."""
    on_model_error: bool = False
    """Also retry predictions that end `failed` (the model raised)."""


class ModelSpec(_Strict):
    """One model entry: where it runs, its label and its default inputs."""

    ref: str | None = None
    """Replicate model `owner/name` or `owner/name:version`."""
    cog: str | None = None
    """A local Cog model folder (relative to the spec file)."""
    url: Urls | None = None
    """One or more running Cog servers."""
    deployment: str | None = None
    """A Replicate deployment `owner/name`: its current release's version runs the predictions."""
    name: str | None = None
    """Label in results and folder names."""
    input: dict[str, Any] = Field(default_factory=dict)
    """Inputs under every row (row values win)."""
    concurrency: int | None = Field(None, ge=1)
    """Cap on this model's predictions in flight."""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"ref": value}
        if not isinstance(value, Mapping):
            raise ValueError(
                f"expected a ref string or a mapping with one of {'/'.join(PLACES)}, got {show_value(value)}"
            )
        return value

    @model_validator(mode="after")
    def _one_place(self) -> ModelSpec:
        given = [k for k in PLACES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"expected exactly one of {'/'.join(PLACES)}, got {', '.join(given) or 'none'}")
        return self

    @field_validator("ref")
    @classmethod
    def _valid_ref(cls, value: str | None) -> str | None:
        if value is not None and not REF_PATTERN.match(value):
            raise ValueError(f'expected "owner/name[:version]", got {show_value(value)}')
        return value

    @field_validator("deployment")
    @classmethod
    def _valid_deployment(cls, value: str | None) -> str | None:
        if value is not None and not DEPLOYMENT_PATTERN.match(value):
            raise ValueError(f'expected "owner/name" (a deployment has no version), got {show_value(value)}')
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return _check_name(value)

    @field_validator("url")
    @classmethod
    def _valid_urls(cls, value: str | list[str] | None) -> str | list[str] | None:
        for url in [value] if isinstance(value, str) else value or []:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(f'expected an http(s) URL such as "http://host:5000", got {show_value(url)}')
        if isinstance(value, list) and not value:
            raise ValueError("expected at least one URL")
        return value

    @property
    def kind(self) -> Literal["ref", "cog", "url", "deployment"]:
        """Which of ref/cog/url/deployment this entry uses."""
        if self.ref is not None:
            return "ref"
        if self.deployment is not None:
            return "deployment"
        return "cog" if self.cog is not None else "url"

    @property
    def is_hosted(self) -> bool:
        """Whether Replicate's API runs it (a ref or a deployment), so it needs the token."""
        return self.kind in ("ref", "deployment")

    @property
    def urls(self) -> list[str]:
        """The `url:` entry as a list."""
        return [self.url] if isinstance(self.url, str) else list(self.url or [])

    def spec_ref(self) -> str:
        """What the spec said, as shown in the `model_ref` column."""
        if self.ref is not None:
            return self.ref
        if self.deployment is not None:
            return f"deployment:{self.deployment}"
        if self.cog is not None:
            return f"cog:{self.cog}"
        return "url:" + ",".join(self.urls)

    def default_name(self) -> str:
        """The ref's or deployment's name part, the cog folder's name, or the first URL's host."""
        if self.ref is not None or self.deployment is not None:
            named = self.ref or self.deployment or ""
            match = REF_PATTERN.match(named)
            return match["name"] if match else named
        if self.cog is not None:
            return Path(self.cog).expanduser().resolve().name if self.cog else "cog"
        return urlparse(self.urls[0]).hostname or "server"


class BatchSpec(_Strict):
    """A whole spec file, as written (paths not yet resolved)."""

    name: str | None = None
    """Run name; default: the spec file's stem."""
    output_dir: str = "runs"
    """Where run folders go, relative to the current directory."""
    concurrency: int = Field(8, ge=1)
    """Predictions in flight at once, whole run."""
    rate_limit: float = Field(600, gt=0)
    """Prediction creates per minute, shared by all threads."""
    poll_limit: float = Field(2500, gt=0)
    """Status polls (GETs) per minute, shared by all threads; Replicate allows 3,000 for non-create calls."""
    timeout: float = Field(1800, gt=0)
    """Seconds from create to result before a prediction is canceled."""
    repeat: int = Field(1, ge=1)
    """Run every (model, row) this many times."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    """Retry policy."""
    models: list[ModelSpec] = Field(min_length=1)
    """The models to run."""
    inputs: RowsSource
    """Inline rows, or a path to a .csv / .jsonl / .json / .yaml file of rows."""
    matrix: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    """Every combination is run for every (model, row)."""
    scorers: list[Any] = Field(default_factory=list)
    """How each job is scored (design.md §5); checked by `scoring.parse_scorers` in the preflight."""
    group_by: list[str] = Field(default_factory=list)
    """Row metadata fields (`_category`) whose values get aggregates of their own."""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return _check_name(value)
