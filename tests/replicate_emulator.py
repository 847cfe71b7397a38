"""A local stand-in for Replicate's HTTP API that the real `replicate` client can drive.

It serves the endpoints the batch runner uses (models, versions, predictions, deployments, files,
output delivery) with the shapes of recorded real responses, and lets tests script what the real
service does now and then: throttling, dropped connections, lost create responses, odd statuses.
Standard library and jsonschema (a dependency of the package) only, so benchmarks can use it too.

    with Emulator(token="r8_test", time_scale=0.01) as emu:   # model time runs 100x faster
        install_standard_models(emu)                           # from tests.emulator_models
        emu.add_fault(Fault("create", status=429))             # the next create is throttled
        emu.add_deployment("acme", "json-prod", emu.models["acme/json"])  # a deployment to run on
        client = replicate.Client(api_token="r8_test", base_url=emu.base_url)
        ...
        assert emu.count("create") == 2
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.server
import json
import math
import mimetypes
import random
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import jsonschema

__all__ = [
    "UNTIL_REMOVED",
    "DeploymentDef",
    "Emulator",
    "Fault",
    "ModelDef",
    "PredictContext",
    "PredictionState",
    "Release",
    "Request",
    "parse_go_duration",
    "validate_input",
]

ENDPOINTS = frozenset(
    {"create", "get", "cancel", "list", "model", "deployment", "upload", "file", "download"}
)
# "aborted" is not in the client's Literal, but the real API sends it and it never changes again.
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # newer real ids look like lowercase base32
_CHUNK = 256 * 1024
_JSON = "application/json"
_PROBLEM = "application/problem+json"
_UNAUTHENTICATED = {
    "title": "Unauthenticated",
    "detail": "You did not pass a valid authentication token",
    "status": 401,
}
_NOT_FOUND = {"detail": "Not found.", "status": 404}  # the real 404 body has no title
# What a create on a model endpoint that cannot run the model answers (quoted in issue 16 for a model
# that was never pushed); unknown deployments get the same.
_NOT_FOUND_CREATE = {"detail": "The requested resource could not be found.", "status": 404}
_INVALID_VERSION = {
    "title": "Invalid version or not permitted",
    "detail": "The specified version does not exist (or perhaps you don't have permission to use it?)",
    "status": 422,
}
_LIMITS_GET = {"ratelimit-remaining": "59999", "ratelimit-reset": "1"}  # as recorded
_LIMITS_OTHER = {"ratelimit-remaining": "2999", "ratelimit-reset": "1"}
_BODY_FIELDS = frozenset({"input", "webhook", "webhook_completed", "webhook_events_filter", "stream"})
UNTIL_REMOVED = sys.maxsize  # `Fault(times=UNTIL_REMOVED)` applies until `remove_fault` is called

# What ModelDef.metrics may be: extra numbers, or a function of (input with defaults, output) giving them.
Metrics = dict[str, Any] | Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class ModelDef:
    """A model the emulator can run: its schema, its behaviour and how long it takes."""

    owner: str
    name: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    predict: Callable[[dict[str, Any], PredictContext], Any]
    duration_s: float | Callable[[dict[str, Any]], float] = 0.0
    boot_s: float = 0.0  # time spent `starting` before `processing`
    # An official model (black-forest-labs/flux-schnell, meta/meta-llama-3-8b-instruct) runs on
    # `POST /v1/models/{owner}/{name}/predictions` (community models answer 404 there), and its
    # predictions there report a version like `dp-a557b738...`, not the 64-hex `latest_version.id`.
    official: bool = False
    # Whether `POST /v1/predictions` takes this model's version id. None: community models yes,
    # official ones no (422 "Invalid version or not permitted", what users see for flux-schnell).
    # True on an official model: an older one that took both (meta/llama-2-70b-chat in 2023).
    accepts_version: bool | None = None
    # False: a model that exists but was never pushed (the recorded `mattt/empty`): its GET says
    # `latest_version: null`, it has no version to fetch or create with, creates on it answer 404.
    pushed: bool = True
    # Numbers a succeeded prediction reports in `metrics` on top of (or instead of: same key; None
    # drops a key) what the emulator measures: `predict_time` and `total_time` for every prediction,
    # token counts, `time_to_first_token` and `tokens_per_second` for language models (iterator of
    # text), `image_count` for predictions that returned images. A dict, or a function of (input with
    # defaults, output) returning one, so tests can assert exact values.
    metrics: Metrics | None = None
    version_id: str | None = None
    extra_schemas: dict[str, Any] = field(default_factory=dict)
    sync_reports_processing: bool = False
    data_uri_outputs: bool = False
    description: str = ""
    cog_version: str = "0.9.5"

    def __post_init__(self) -> None:
        if self.version_id is None:
            self.version_id = hashlib.sha256(self.ref.encode()).hexdigest()

    @property
    def ref(self) -> str:
        """The model's `owner/name`."""
        return f"{self.owner}/{self.name}"

    @property
    def is_iterator(self) -> bool:
        """True when the output streams as a growing list (`x-cog-array-type: iterator`)."""
        schema = self.output_schema
        return schema.get("type") == "array" and schema.get("x-cog-array-type") == "iterator"

    @property
    def is_language_model(self) -> bool:
        """True for iterators of text, the models Replicate reports token metrics for."""
        return self.is_iterator and self.output_schema.get("items", {}).get("format") != "uri"

    @property
    def takes_version_creates(self) -> bool:
        """Whether `POST /v1/predictions` with this model's version id is accepted."""
        accepted = not self.official if self.accepts_version is None else self.accepts_version
        return self.pushed and accepted

    @property
    def official_version(self) -> str:
        """The version predictions made on the model endpoint report: a `dp-` id, like the API's."""
        return f"dp-{str(self.version_id)[:32]}"

    def components(self) -> dict[str, Any]:
        """`components.schemas` of the version's OpenAPI schema, used for `$ref` lookups too."""
        return {
            "Input": {"type": "object", "title": "Input", **self.input_schema},
            "Output": {"title": "Output", **self.output_schema},
            **self.extra_schemas,
            "Status": {
                "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
                "type": "string",
                "title": "Status",
                "description": "An enumeration.",
            },
        }


@dataclass(frozen=True)
class Release:
    """One release of a deployment: which version it runs, on what, since when."""

    number: int
    model_def: ModelDef
    created_ns: int
    hardware: str = "gpu-t4"
    min_instances: int = 1
    max_instances: int = 5


@dataclass
class DeploymentDef:
    """A deployment: `owner/name`, and its releases, the current one last."""

    owner: str
    name: str
    releases: list[Release] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The deployment's `owner/name`."""
        return f"{self.owner}/{self.name}"

    @property
    def current_release(self) -> Release:
        """The release new predictions run on."""
        return self.releases[-1]


@dataclass
class Fault:
    """A scripted misbehaviour for the next `times` requests to `endpoint` that `match`."""

    endpoint: str
    status: int | None = None
    body: Any = None  # overrides the JSON body of a `status` reply (dict, str or bytes)
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the socket without answering
    after: bool = False  # do the real work first, then drop or fail (a lost response)
    prediction_status: str | None = None  # answer normally but report this status
    garbage: bool = False  # 200 with an HTML body
    truncate: bool = False  # send headers and half the body, then close
    # Real seconds (never scaled) before the request is handled: with `status` (or `drop`...), that
    # answer comes late (meant to trip client timeouts); alone, the request is then served as usual
    # (a create held before its prediction exists).
    delay_s: float = 0.0
    # Real seconds (never scaled) the answer is held once the request was served (with no other
    # misbehaviour): a slow network, or a sync create whose prediction ended while its answer is on
    # the way.
    answer_delay_s: float = 0.0
    # Model seconds (scaled) the request waits at the server before anything is done for it (a create
    # held before the prediction exists); then it is answered normally unless other fields say otherwise.
    hold_s: float = 0.0
    retry_after: float = 1.0  # model seconds (scaled) reported by a `status=429` body
    echo_headers: bool = (
        False  # the error body quotes the request's headers, token included, as some proxies do
    )
    times: int = 1
    # Called with the JSON body for creates, with {"path", "method", "query"} for the rest.
    match: Callable[[Any], bool] | None = None
    # Only requests whose path holds this text, e.g. "/v1/deployments/" for deployment creates.
    path: str | None = None

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; use one of {sorted(ENDPOINTS)}")

    @property
    def only_delays(self) -> bool:
        """Whether the fault only slows the request down: it is then served as usual, late."""
        misbehaves = self.status or self.drop or self.after or self.garbage or self.truncate
        return bool(self.delay_s or self.answer_delay_s) and not (misbehaves or self.prediction_status)


@dataclass(frozen=True)
class Request:
    """One request as the emulator received it; header names are lower case."""

    method: str
    path: str
    endpoint: str
    body: Any
    headers: dict[str, str]
    query: str = ""
    peer: str = ""  # the client's address and port: which connection the request came on


@dataclass(eq=False)
class PredictionState:
    """Everything the emulator knows about one prediction; tests may read it freely."""

    id: str
    model_def: ModelDef
    version: str  # the version id the prediction reports (a `dp-` id on an official model endpoint)
    input: Any
    effective_input: dict[str, Any]  # input plus schema defaults, what `predict` receives
    seq: int
    created_ns: int
    created_mono: float
    deployment: str | None = None  # `owner/name` of the deployment it was created on
    status: str = "starting"
    output: Any = None
    has_output: bool = False  # the real API leaves `output` out until there is one
    error: str | None = None
    logs: str = ""
    started_ns: int | None = None
    completed_ns: int | None = None
    first_output_ns: int | None = None  # when an iterator's first chunk showed
    image_count: int = 0  # image files the model returned through `PredictContext.file`
    model_metrics: dict[str, Any] = field(default_factory=dict)  # set on success, see ModelDef.metrics
    cancel_after: str | None = None
    cancel_deadline: float | None = None  # time.monotonic() value
    canceled_by_request: bool = False
    data_removed: bool = False  # see Emulator.remove_data
    wake: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def model(self) -> str:
        """The `owner/name` the prediction reports."""
        return self.model_def.ref

    @property
    def is_terminal(self) -> bool:
        """True once the prediction will not change any more."""
        return self.status in TERMINAL


class PredictContext:
    """What a model's `predict` gets besides its inputs: file access, logs and its id."""

    def __init__(self, emulator: Emulator, state: PredictionState) -> None:
        self._emu = emulator
        self._state = state

    @property
    def prediction_id(self) -> str:
        """Id of the prediction being run."""
        return self._state.id

    def read(self, value: str) -> bytes:
        """Bytes behind a file input: an emulator file/delivery URL or a `data:` URI."""
        return self._emu.read_url(value)

    def file(self, data: bytes, name: str) -> str:
        """Store an output file and return its URL (or a data URI with `data_uri_outputs`)."""
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._emu._cond:
            self._state.image_count += mime.startswith("image/")
        if self._state.model_def.data_uri_outputs:
            return f"data:{mime};base64,{base64.b64encode(data).decode()}"
        with self._emu._cond:
            self._emu.output_files[(self._state.id, name)] = bytes(data)
        return f"{self._emu.base_url}/delivery/{self._state.id}/{urllib.parse.quote(name)}"

    def log(self, text: str) -> None:
        """Append to the prediction's logs (visible while it runs)."""
        with self._emu._cond:
            self._state.logs += text


@dataclass
class _Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    truncate: bool = False
    prediction: PredictionState | None = None


def _json_reply(status: int, obj: Any, headers: dict[str, str] | None = None, **kw: Any) -> _Reply:
    ctype = _PROBLEM if status >= 400 else _JSON
    return _Reply(status, json.dumps(obj).encode(), {"Content-Type": ctype, **(headers or {})}, **kw)


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (`30s`, `5m`, `1m30s`, `250ms`) or bare seconds; None if bad."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * units[u] for n, u in parts)


def _resolve(spec: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Inline `$ref` / `allOf: [{$ref}]` the way Cog writes enums, keeping local keys."""
    refs = [s["$ref"] for s in spec.get("allOf", []) if "$ref" in s]
    if "$ref" in spec:
        refs.append(spec["$ref"])
    merged: dict[str, Any] = {}
    for ref in refs:
        merged.update(components.get(ref.rsplit("/", 1)[-1], {}))
    merged.update({k: v for k, v in spec.items() if k not in ("allOf", "$ref")})
    return merged


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "?")


def _number(x: Any) -> str:
    return str(int(x)) if isinstance(x, (int, float)) and float(x).is_integer() else str(x)


# jsonschema keyword -> (Replicate's error type, its description), for the messages that only need
# the keyword's value; Replicate's wording follows its Go validator's.
_MESSAGES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "minimum": ("number_gte", lambda n: f"Must be greater than or equal to {_number(n)}"),
    "maximum": ("number_lte", lambda n: f"Must be less than or equal to {_number(n)}"),
    "exclusiveMinimum": ("number_gt", lambda n: f"Must be greater than {_number(n)}"),
    "exclusiveMaximum": ("number_lt", lambda n: f"Must be less than {_number(n)}"),
    "multipleOf": ("multiple_of", lambda n: f"Must be a multiple of {_number(n)}"),
    "minLength": ("string_gte", lambda n: f"String length must be greater than or equal to {n}"),
    "maxLength": ("string_lte", lambda n: f"String length must be less than or equal to {n}"),
    "pattern": ("pattern", lambda p: f"Does not match pattern '{p}'"),
    "format": ("format", lambda f: f"Does not match format '{f}'"),
    "minItems": ("array_min_items", lambda n: f"Array must have at least {n} items"),
    "maxItems": ("array_max_items", lambda n: f"Array must have at most {n} items"),
    "uniqueItems": ("unique", lambda _: "Array items must be unique"),
    "const": ("const", lambda c: f"Does not match: {json.dumps(c)}"),
    "anyOf": ("number_any_of", lambda _: "Must validate at least one schema (anyOf)"),
    "oneOf": ("number_one_of", lambda _: "Must validate one and only one schema (oneOf)"),
    "not": ("number_not", lambda _: "Must not validate the schema (not)"),
}


def _invalid_fields(error: Any) -> list[dict[str, str]]:
    """One jsonschema error as the API's `invalid_fields` entries (`field` is the dotted path)."""
    path = [str(part) for part in error.absolute_path]
    field = ".".join(path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        names = [name for name in expected if name not in value]
        return [
            {"type": "required", "field": ".".join([*path, n]), "description": f"{n} is required"}
            for n in names
        ]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [
            {
                "type": "additional_property_not_allowed",
                "field": ".".join([*path, name]),
                "description": f"Additional property {name} is not allowed",
            }
            for name in value
            if name not in known
        ]
    if keyword == "type":
        wanted = "/".join(expected) if isinstance(expected, list) else expected
        msg = f"Invalid type. Expected: {wanted}, given: {_type_name(value)}"
        return [{"type": "invalid_type", "field": field, "description": msg}]
    if keyword == "enum":
        options = ", ".join(json.dumps(v) for v in expected)
        msg = f"{field} must be one of the following: {options}"
        return [{"type": "enum", "field": field, "description": msg}]
    kind, describe = _MESSAGES.get(keyword, (keyword, lambda _: error.message))
    return [{"type": kind, "field": field, "description": describe(expected)}]


@functools.lru_cache(maxsize=64)
def _input_validator(components_json: str) -> Any:
    """A validator for `components["Input"]`, made once per schema (it takes ~0.3 ms to make)."""
    components = json.loads(components_json)
    # The API refuses inputs the schema does not list, whatever the schema says about extras.
    schema = {**components["Input"], "additionalProperties": False, "components": {"schemas": components}}
    formats = jsonschema.FormatChecker(formats=())
    # Replicate takes any URL, data URI or file id; what it refuses is text that is no URI at all.
    formats.checks("uri")(lambda value: not isinstance(value, str) or ":" in value)
    return jsonschema.Draft202012Validator(schema, format_checker=formats)


def validate_input(inputs: Any, components: dict[str, Any]) -> list[dict[str, str]]:
    """Problems with `inputs` against `components["Input"]`, as the API's `invalid_fields`.

    jsonschema (Draft 2020-12, resolving `#/components/schemas/...` itself) is the validator, so the
    emulator judges inputs independently of the package's own reading of the schema.
    """
    if not isinstance(inputs, dict):
        msg = f"Invalid type. Expected: object, given: {_type_name(inputs)}"
        return [{"type": "invalid_type", "field": "input", "description": msg}]
    validator = _input_validator(json.dumps(components, sort_keys=True))
    problems: list[dict[str, str]] = []
    for error in validator.iter_errors(inputs):
        for problem in _invalid_fields(error):
            if problem not in problems:  # one per missing or extra name, however jsonschema counts
                problems.append(problem)
    return problems


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """Fields of a multipart/form-data body: name -> (filename, content type, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    fields = {}
    for part in raw.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        head_text = head.decode("utf-8", "replace")
        name = re.search(r'\bname="([^"]*)"', head_text)
        filename = re.search(r'filename="([^"]*)"', head_text)
        ctype = re.search(r"(?im)^content-type:\s*(\S+)", head_text)
        if name:
            fields[name.group(1)] = (
                urllib.parse.unquote(filename.group(1)) if filename else None,
                ctype.group(1) if ctype else "application/octet-stream",
                data.removesuffix(b"\r\n"),
            )
    return fields


_ROUTES = [
    (method, re.compile(pattern), endpoint, handler)
    for method, pattern, endpoint, handler in [
        ("GET", r"/v1/models/([^/]+)/([^/]+)", "model", "_h_model"),
        ("GET", r"/v1/models/([^/]+)/([^/]+)/versions/([^/]+)", "model", "_h_version"),
        ("POST", r"/v1/models/([^/]+)/([^/]+)/predictions", "create", "_h_create"),
        ("GET", r"/v1/deployments/([^/]+)/([^/]+)", "deployment", "_h_deployment"),
        ("POST", r"/v1/deployments/([^/]+)/([^/]+)/predictions", "create", "_h_deployment_create"),
        ("POST", r"/v1/predictions", "create", "_h_create"),
        ("GET", r"/v1/predictions", "list", "_h_list"),
        ("GET", r"/v1/predictions/([^/]+)", "get", "_h_get"),
        ("POST", r"/v1/predictions/([^/]+)/cancel", "cancel", "_h_cancel"),
        ("POST", r"/v1/files", "upload", "_h_upload"),
        ("GET", r"/v1/files/([^/]+)", "file", "_h_file"),
        ("GET", r"/v1/files/([^/]+)/download", "download", "_h_file_download"),
        ("GET", r"/delivery/([^/]+)/(.+)", "download", "_h_delivery"),
    ]
]


class Emulator:
    """Replicate's HTTP API on 127.0.0.1 in a background thread, with scripted faults."""

    def __init__(self, token: str = "r8_test", time_scale: float = 1.0, seed: int | None = None):
        self.token = token
        self.time_scale = time_scale
        self.create_rate_limit_per_min: float | None = None
        self.retry_after_float = False
        self.page_size = 100
        self.models: dict[str, ModelDef] = {}
        self.deployments: dict[str, DeploymentDef] = {}
        self.predictions: dict[str, PredictionState] = {}
        self.requests: list[Request] = []
        self.cancels: list[str] = []
        self.uploads: dict[str, bytes] = {}
        self.output_files: dict[tuple[str, str], bytes] = {}
        self._versions: dict[str, ModelDef] = {}
        self._file_meta: dict[str, dict[str, Any]] = {}
        self._faults: list[list[Any]] = []  # [fault, uses left], in the order they were added
        self._bucket: list[float] | None = None  # [tokens, last refill, limit it was made for]
        self._cond = threading.Condition()
        self._rng = random.Random(seed)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._answering = 0  # requests received and not answered yet

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake every waiting request and model, and join the server thread."""
        if self._server is None or self._thread is None:
            return
        self._stopping.set()
        with self._cond:
            for state in self.predictions.values():
                state.wake.set()
            self._cond.notify_all()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, without `/v1`, as `replicate.Client(base_url=)` wants."""
        if self._base_url is None:
            raise RuntimeError("the emulator was never started: call start() first")
        return self._base_url

    # -- configuration and inspection ---------------------------------------------------------

    def add_model(self, model: ModelDef) -> ModelDef:
        """Install a model (a later one with the same name becomes the latest version)."""
        with self._cond:
            self._add_version(model)
            self.models[model.ref] = model
        return model

    def _add_version(self, model: ModelDef) -> None:
        owner = self._versions.get(str(model.version_id))
        if owner is not None and owner.ref != model.ref:
            raise ValueError(
                f"version {model.version_id} already belongs to {owner.ref}; "
                "give a copy made with dataclasses.replace() version_id=None"
            )
        if model.pushed:
            self._versions[str(model.version_id)] = model

    def add_deployment(
        self,
        owner: str,
        name: str,
        model: ModelDef,
        *,
        hardware: str = "gpu-t4",
        min_instances: int = 1,
        max_instances: int = 5,
    ) -> DeploymentDef:
        """Install deployment `owner/name` whose first release runs `model`'s version.

        A model not installed yet is added too (a private model: its owner sees it), without
        changing the latest version of one that is.
        """
        if not model.pushed:
            raise ValueError(f"{model.ref} was never pushed: a deployment needs a version")
        deployment = DeploymentDef(owner, name)
        with self._cond:
            if f"{owner}/{name}" in self.deployments:
                raise ValueError(f"deployment {owner}/{name} exists; use update_deployment()")
            self.deployments[deployment.ref] = deployment
        self.update_deployment(
            owner,
            name,
            model,
            hardware=hardware,
            min_instances=min_instances,
            max_instances=max_instances,
        )
        return deployment

    def update_deployment(
        self,
        owner: str,
        name: str,
        model: ModelDef | None = None,
        *,
        hardware: str | None = None,
        min_instances: int | None = None,
        max_instances: int | None = None,
    ) -> Release:
        """Make a new current release, as the API does on any change (its `number` goes up).

        Predictions created from then on run `model`'s version (default: the same as before);
        those already created keep theirs. Safe to call while a run goes on.
        """
        with self._cond:
            deployment = self.deployments[f"{owner}/{name}"]
            before = deployment.releases[-1] if deployment.releases else None
            model = model or (before.model_def if before else None)
            if model is None or not model.pushed:
                raise ValueError(f"deployment {owner}/{name} needs a pushed model")
            self._add_version(model)
            self.models.setdefault(model.ref, model)
            was = before or Release(0, model, 0)  # the defaults, for a first release
            release = Release(
                number=len(deployment.releases) + 1,
                model_def=model,
                created_ns=time.time_ns(),
                hardware=hardware or was.hardware,
                min_instances=was.min_instances if min_instances is None else min_instances,
                max_instances=was.max_instances if max_instances is None else max_instances,
            )
            deployment.releases.append(release)
        return release

    def add_fault(self, fault: Fault) -> Fault:
        """Queue a fault; faults apply in the order added, among those that match."""
        with self._cond:
            self._faults.append([fault, fault.times])
        return fault

    def remove_fault(self, fault: Fault) -> None:
        """Stop applying one fault (e.g. one added with `times=UNTIL_REMOVED`)."""
        with self._cond:
            self._faults = [entry for entry in self._faults if entry[0] is not fault]

    def clear_faults(self) -> None:
        """Drop every fault not used up yet: the service is healthy again."""
        with self._cond:
            self._faults.clear()

    def pending_faults(self) -> list[Fault]:
        """Faults not used up yet."""
        with self._cond:
            return [f for f, left in self._faults if left > 0]

    def remove_data(self, prediction_id: str) -> None:
        """Do what the API does an hour after a prediction: delete its input, output, logs and files.

        The prediction then reports `data_removed: true` and `output: null`; its file URLs answer 404.
        """
        with self._cond:
            state = self.predictions[prediction_id]
            state.data_removed = True
            for key in [key for key in self.output_files if key[0] == prediction_id]:
                del self.output_files[key]

    @property
    def answering(self) -> int:
        """Requests received and not answered yet (a held create counts until its answer is made)."""
        with self._cond:
            return self._answering

    def count(self, endpoint: str, match: Callable[[Any], bool] | None = None) -> int:
        """Requests to `endpoint`, optionally only those whose `match` subject (see Fault) fits."""
        with self._cond:
            reqs = [r for r in self.requests if r.endpoint == endpoint]
        return sum(1 for r in reqs if match is None or _matches(match, _match_subject(r)))

    def creates_with(self, input_subset: dict[str, Any]) -> int:
        """Create requests whose input holds all these items, whatever the answer was."""
        with self._cond:
            bodies = [r.body for r in self.requests if r.endpoint == "create"]
        return sum(
            1
            for b in bodies
            if isinstance(b, dict)
            and isinstance(b.get("input"), dict)
            and all(k in b["input"] and b["input"][k] == v for k, v in input_subset.items())
        )

    def read_url(self, value: str) -> bytes:
        """Bytes behind an emulator files-API or delivery URL, or a `data:` URI."""
        if not isinstance(value, str):
            raise TypeError(f"expected a URL string, got {type(value).__name__}")
        if value.startswith("data:"):
            header, _, payload = value[5:].partition(",")
            if header.endswith(";base64"):
                return base64.b64decode(payload)
            return urllib.parse.unquote_to_bytes(payload)
        files, delivery = f"{self.base_url}/v1/files/", f"{self.base_url}/delivery/"
        with self._cond:
            if value.startswith(files):
                file_id = value[len(files) :].split("/")[0]
                if file_id in self.uploads:
                    return self.uploads[file_id]
            elif value.startswith(delivery):
                pred_id, _, name = value[len(delivery) :].partition("/")
                key = (pred_id, urllib.parse.unquote(name))
                if key in self.output_files:
                    return self.output_files[key]
        raise ValueError(f"cannot fetch {value!r}: only emulator files and data URIs are reachable")

    # -- request plumbing ---------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes, peer: str = ""
    ) -> _Reply:
        path, _, query = target.partition("?")
        route = _route(method, path)
        body: Any = raw or None
        if raw and "json" in headers.get("content-type", ""):
            with contextlib.suppress(ValueError):
                body = json.loads(raw)
        req = Request(method, path, route[0] if route else "other", body, headers, query, peer)
        with self._cond:
            self.requests.append(req)
        if not path.startswith("/delivery/") and not self._authorized(headers):
            return _json_reply(401, _UNAUTHENTICATED)
        if route is None:
            return _json_reply(404, _NOT_FOUND)

        def run() -> _Reply:
            try:
                reply: _Reply = getattr(self, route[1])(req, *route[2])
            except ValueError as exc:  # unparseable cursor, timestamp, metadata...
                return _json_reply(400, {"title": "Bad request", "detail": str(exc), "status": 400})
            except Exception as exc:  # answer, so a bug here shows up as a 500 and not a hang
                detail = f"emulator error: {exc!r}"
                return _json_reply(500, {"title": "Internal Server Error", "detail": detail, "status": 500})
            return reply

        fault = self._take_fault(req)
        return run() if fault is None else self._apply_fault(fault, run, req)

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() in ("bearer", "token") and token.strip() == self.token

    def _take_fault(self, req: Request) -> Fault | None:
        subject = _match_subject(req)
        with self._cond:
            for entry in self._faults:
                fault, left = entry
                if (
                    left > 0
                    and fault.endpoint == req.endpoint
                    and (fault.path is None or fault.path in req.path)
                    and (fault.match is None or _matches(fault.match, subject))
                ):
                    entry[1] -= 1
                    return fault  # type: ignore[no-any-return]
        return None

    def _apply_fault(self, fault: Fault, run: Callable[[], _Reply], req: Request) -> _Reply:
        if fault.delay_s:
            self._stopping.wait(fault.delay_s)
        if fault.hold_s:
            self._stopping.wait(fault.hold_s * self.time_scale)
            if fault.status is None and not (
                fault.drop or fault.after or fault.garbage or fault.truncate or fault.prediction_status
            ):
                return run()
        if fault.only_delays:
            reply = run()
            self._stopping.wait(fault.answer_delay_s)
            return reply
        if fault.prediction_status or fault.truncate:
            reply = run()
            if fault.truncate:
                reply.truncate = True
            if fault.prediction_status and reply.prediction is not None:
                return self._restate(reply, fault.prediction_status)
            return reply
        if fault.after:
            run()
        if fault.drop or (fault.after and fault.status is None and not fault.garbage):
            return _Reply(drop=True)
        if fault.garbage:
            page = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            return _Reply(200, page, {"Content-Type": "text/html"})
        status = fault.status or 500
        if isinstance(fault.body, (bytes, str)):
            raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
            reply = _Reply(status, raw, {"Content-Type": _PROBLEM})
        elif fault.body is not None:
            reply = _json_reply(status, fault.body)
        elif fault.echo_headers:
            phrase = HTTPStatus(status).phrase
            detail = f"{phrase}: upstream refused {req.method} {req.path} with headers {req.headers}"
            reply = _json_reply(status, {"title": phrase, "detail": detail, "status": status})
        elif status == 429:
            reply = self._throttled(fault.retry_after * self.time_scale)
        elif status == 401:
            reply = _json_reply(401, _UNAUTHENTICATED)
        elif status == 404:
            reply = _json_reply(404, _NOT_FOUND)
        else:
            phrase = HTTPStatus(status).phrase
            detail = f"{phrase} (injected by a test fault)"
            reply = _json_reply(status, {"title": phrase, "detail": detail, "status": status})
        reply.headers.update(fault.headers)
        return reply

    def _restate(self, reply: _Reply, status: str) -> _Reply:
        """Re-render a prediction reply with another status; `aborted` sticks, like the API's."""
        state = reply.prediction
        assert state is not None
        if status == "aborted":
            self._finish(state, "aborted")
        body = json.dumps(self._render(state, status_override=status)).encode()
        return _Reply(reply.status, body, reply.headers, prediction=state)

    def _throttled(self, wait_s: float) -> _Reply:
        whole = max(1, math.ceil(wait_s - 1e-9))
        retry_after: float = round(max(wait_s, 0.001), 3) if self.retry_after_float else whole
        detail = f"Request was throttled. Your rate limit resets in ~{whole}s."
        body = {"detail": detail, "status": 429, "retry_after": retry_after}
        return _json_reply(429, body, {"ratelimit-remaining": "0", "ratelimit-reset": str(whole)})

    def _take_create_token(self) -> tuple[float | None, int]:
        """(seconds to wait or None if allowed, tokens left) from the create token bucket."""
        limit = self.create_rate_limit_per_min
        if limit is None:
            return None, 599
        if limit <= 0:
            return 60.0 * self.time_scale, 0
        now, rate = time.monotonic(), limit / 60.0 / self.time_scale
        capacity = max(1.0, limit / 60.0)  # the real API tolerates a burst of about a second
        with self._cond:
            if self._bucket is None or self._bucket[2] != limit:
                self._bucket = [capacity, now, limit]
            tokens = min(capacity, self._bucket[0] + (now - self._bucket[1]) * rate)
            self._bucket[:2] = [tokens - 1 if tokens >= 1 else tokens, now]
            return (None if tokens >= 1 else (1 - tokens) / rate), int(self._bucket[0])

    def _iso(self, ns: int) -> str:
        # The real API sends 2 to 9 fractional digits, varying between answers.
        return _format_ns(ns, self._rng.randint(2, 9))

    # -- predictions --------------------------------------------------------------------------

    def _h_create(self, req: Request, owner: str | None = None, name: str | None = None) -> _Reply:
        return self._create(req, "model" if owner else "version", f"{owner}/{name}")

    def _h_deployment_create(self, req: Request, owner: str, name: str) -> _Reply:
        return self._create(req, "deployment", f"{owner}/{name}")

    def _create(self, req: Request, via: str, ref: str) -> _Reply:
        """A create on the version (`POST /v1/predictions`), model or deployment endpoint."""
        wait_s, remaining = self._take_create_token()
        if wait_s is not None:
            return self._throttled(wait_s)
        body = req.body
        if not isinstance(body, dict):
            detail = "The request body must be a JSON object"
            return _json_reply(400, {"title": "Invalid request", "detail": detail, "status": 400})
        required = ["input", "version"] if via == "version" else ["input"]
        problems = [
            {"type": "additional_property_not_allowed", "field": "", "description": msg}
            for msg in (
                f"Additional property {k} is not allowed"
                for k in body
                if k not in _BODY_FIELDS and k not in required
            )
        ]
        for key in required:
            if key not in body:
                problems.append({"type": "required", "field": "", "description": f"{key} is required"})
        if problems:
            return _invalid(problems)
        target = self._create_target(via, ref, body)
        if isinstance(target, _Reply):
            return target
        model, version, deployment = target
        components = model.components()
        problems = validate_input(body["input"], components)
        if problems:
            return _invalid(problems)
        cancel_after = req.headers.get("cancel-after")
        cancel_s = None if cancel_after is None else parse_go_duration(cancel_after)
        if cancel_after is not None and cancel_s is None:
            detail = f"Cancel-After must be a duration like 30s or 5m, got {cancel_after!r}"
            return _json_reply(400, {"title": "Invalid header", "detail": detail, "status": 400})
        state = self._new_prediction(
            model, version, body["input"], components, cancel_after, cancel_s, deployment
        )
        headers = {"ratelimit-remaining": str(remaining), "ratelimit-reset": "1"}
        hold_s = _prefer_wait_s(req.headers.get("prefer", ""))
        if hold_s is None:
            rendered = self._render(state)  # before the model starts: creates answer `starting`
            self._launch(state)
        else:
            headers["Preference-Applied"] = req.headers["prefer"].strip()
            self._launch(state)
            with self._cond:
                self._cond.wait_for(
                    lambda: state.is_terminal or self._stopping.is_set(),
                    timeout=hold_s * self.time_scale,
                )
            rendered = self._render(state, sync=True)
        headers["Content-Type"] = "application/json; charset=UTF-8"
        return _Reply(201, json.dumps(rendered).encode(), headers, prediction=state)

    def _create_target(
        self, via: str, ref: str, body: dict[str, Any]
    ) -> tuple[ModelDef, str, str | None] | _Reply:
        """(model, version the prediction reports, deployment) for a create, or the refusal."""
        if via == "deployment":
            with self._cond:
                deployment = self.deployments.get(ref)
                release = deployment.current_release if deployment else None
            if release is None:
                return _json_reply(404, _NOT_FOUND_CREATE)
            return release.model_def, str(release.model_def.version_id), ref
        if via == "model":
            model = self.models.get(ref)
            if model is None or not model.official or not model.pushed:
                return _json_reply(404, _NOT_FOUND_CREATE)  # community models need a version
            return model, model.official_version, None
        found = self._model_for_version(body["version"])
        if found is None:
            return _json_reply(422, _INVALID_VERSION)
        model, by_name = found
        return model, model.official_version if by_name else str(model.version_id), None

    def _model_for_version(self, version: Any) -> tuple[ModelDef, bool] | None:
        """The model a create's `version` names, and whether it named the model only.

        `version` may be a bare id or `owner/name:id` (refused for official models unless they
        take version creates), or `owner/name` (official models only).
        """
        if not isinstance(version, str):
            return None
        ref, _, vid = version.partition(":")
        if "/" not in ref:
            ref, vid = "", ref
        if not vid:
            model = self.models.get(ref)
            return (model, True) if model and model.official and model.pushed else None
        model = self._versions.get(vid)
        if model is None or (ref and model.ref != ref) or not model.takes_version_creates:
            return None
        return model, False

    def _new_prediction(
        self,
        model: ModelDef,
        version: str,
        inputs: dict[str, Any],
        components: dict[str, Any],
        cancel_after: str | None,
        cancel_s: float | None,
        deployment: str | None = None,
    ) -> PredictionState:
        props = components["Input"].get("properties", {})
        defaults = {
            k: spec["default"]
            for k, spec in ((k, _resolve(v, components)) for k, v in props.items())
            if "default" in spec
        }
        now = time.monotonic()
        with self._cond:
            pred_id = "".join(self._rng.choice(_ID_ALPHABET) for _ in range(26))
            state = PredictionState(
                id=pred_id,
                model_def=model,
                version=version,
                deployment=deployment,
                input=inputs,
                effective_input={**defaults, **inputs},
                seq=len(self.predictions),
                created_ns=time.time_ns(),
                created_mono=now,
                cancel_after=cancel_after,
                cancel_deadline=None if cancel_s is None else now + cancel_s * self.time_scale,
            )
            self.predictions[pred_id] = state
        return state

    def _launch(self, state: PredictionState) -> None:
        name = f"emulator-prediction-{state.id}"
        threading.Thread(target=self._run, args=(state,), name=name, daemon=True).start()

    def _run(self, state: PredictionState) -> None:
        try:
            self._drive(state)
        except Exception as exc:  # a dying worker thread would fail the test run
            self._finish(state, "failed", error=f"emulator error: {exc!r}")

    def _drive(self, state: PredictionState) -> None:
        model, scale = state.model_def, self.time_scale
        if not self._sleep_until(state, state.created_mono + model.boot_s * scale):
            return
        with self._cond:
            if state.status != "starting":
                return
            state.status, state.started_ns = "processing", time.time_ns()
            self._cond.notify_all()
        started = time.monotonic()
        duration = model.duration_s
        duration_s = (duration(state.effective_input) if callable(duration) else duration) * scale
        try:
            output = model.predict(dict(state.effective_input), PredictContext(self, state))
            error = None
        except Exception as exc:
            output, error = None, str(exc)
        if error is None and model.is_iterator:
            chunks = list(output)
            for k in range(1, len(chunks) + 1):  # reveal a growing prefix while processing
                if not self._sleep_until(state, started + duration_s * k / (len(chunks) + 1)):
                    return
                with self._cond:
                    if state.is_terminal:
                        return
                    state.output, state.has_output = chunks[:k], True
                    state.first_output_ns = state.first_output_ns or time.time_ns()
                    self._cond.notify_all()
            text_items = model.output_schema.get("items", {}).get("format") != "uri"
            output = [*chunks, ""] if text_items and chunks[-1:] != [""] else chunks
        if self._sleep_until(state, started + duration_s):
            status = "succeeded" if error is None else "failed"
            self._finish(state, status, output=output, error=error)

    def _sleep_until(self, state: PredictionState, until: float) -> bool:
        """Wait for model time to pass; False if the prediction ended meanwhile (or Cancel-After)."""
        while True:
            if self._stopping.is_set() or state.is_terminal:
                return False
            now, deadline = time.monotonic(), state.cancel_deadline
            if deadline is not None and deadline <= now:
                self._finish(state, "canceled")
                return False
            if now >= until:
                return True
            state.wake.wait(min(until, deadline or until) - now)

    def _finish(
        self,
        state: PredictionState,
        status: str,
        output: Any = None,
        error: str | None = None,
        by_request: bool = False,
    ) -> bool:
        """Move a prediction to a terminal status unless it already is; True if it moved."""
        with self._cond:
            if state.is_terminal:
                return False
            state.status, state.completed_ns = status, time.time_ns()
            if status == "succeeded":
                state.output = output
                state.model_metrics = _model_metrics(state)
            state.error = error
            state.has_output = True  # terminal answers carry `output`, null if there is none
            state.canceled_by_request = by_request
            state.wake.set()
            self._cond.notify_all()
            return True

    def _expire(self, state: PredictionState) -> None:
        # Cancel-After also applies while a slow `predict` holds the worker.
        deadline = state.cancel_deadline
        if deadline is not None and not state.is_terminal and time.monotonic() >= deadline:
            self._finish(state, "canceled")

    def _render(
        self, state: PredictionState, status_override: str | None = None, sync: bool = False
    ) -> dict[str, Any]:
        self._expire(state)
        with self._cond:
            status = status_override or state.status
            # The real sync answer often says `processing` although the output is complete.
            quirk = sync and state.model_def.sync_reports_processing and status == "succeeded"
            removed = state.data_removed
            out: dict[str, Any] = {
                "id": state.id,
                "model": state.model,
                "version": state.version,
                **({"deployment": state.deployment} if state.deployment else {}),
                "input": {} if removed else state.input,
                "logs": "" if removed else state.logs,
            }
            if state.has_output:
                out["output"] = None if removed else state.output
            out.update(data_removed=removed, error=state.error, status="processing" if quirk else status)
            out["created_at"] = self._iso(state.created_ns)
            if state.started_ns is not None and not quirk:  # recorded sync answers have none
                out["started_at"] = self._iso(state.started_ns)
            if state.completed_ns is not None and not quirk:
                out["completed_at"] = self._iso(state.completed_ns)
                succeeded = state.status == "succeeded"
                out["metrics"] = state.model_metrics if succeeded else _timings(state)
            url = f"{self.base_url}/v1/predictions/{state.id}"
            out["urls"] = {"cancel": f"{url}/cancel", "get": url}
            return out

    def _h_get(self, req: Request, pred_id: str) -> _Reply:
        state = self.predictions.get(pred_id)
        if state is None:
            return _json_reply(404, _NOT_FOUND)
        return _json_reply(200, self._render(state), _LIMITS_GET, prediction=state)

    def _h_cancel(self, req: Request, pred_id: str) -> _Reply:
        state = self.predictions.get(pred_id)
        if state is None:
            return _json_reply(404, _NOT_FOUND)
        with self._cond:
            self.cancels.append(pred_id)
        self._expire(state)
        self._finish(state, "canceled", by_request=True)
        return _json_reply(200, self._render(state), _LIMITS_OTHER, prediction=state)

    def _h_list(self, req: Request) -> _Reply:
        params = urllib.parse.parse_qs(req.query)
        with self._cond:
            states = sorted(self.predictions.values(), key=lambda s: s.seq, reverse=True)
        for key, keep in (("created_after", 1), ("created_before", -1)):
            if key in params:
                limit_ns = _parse_iso_ns(params[key][0])
                states = [s for s in states if (s.created_ns - limit_ns) * keep > 0]
        cursor = params.get("cursor", [""])[0]
        direction, _, mark = base64.urlsafe_b64decode(cursor + "==").decode().partition("=")
        size = max(1, self.page_size)
        if direction == "after":  # a `previous` cursor: the page just newer than `mark`
            page = [s for s in states if s.seq > int(mark)][-size:]
        else:
            page = [s for s in states if not direction or s.seq < int(mark)][:size]
        url = f"{self.base_url}/v1/predictions?cursor="
        older = page and any(s.seq < page[-1].seq for s in states)
        newer = page and any(s.seq > page[0].seq for s in states)
        body = {
            "next": url + _cursor("before", page[-1].seq) if older else None,
            "previous": url + _cursor("after", page[0].seq) if newer else None,
            "results": [self._render(s) for s in page],
        }
        return _json_reply(200, body, _LIMITS_OTHER)

    # -- models -------------------------------------------------------------------------------

    def _version_json(self, model: ModelDef) -> dict[str, Any]:
        def ref(name: str) -> dict[str, Any]:
            return {"content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

        post = {
            "summary": "Predict",
            "operationId": "predict_predictions_post",
            "requestBody": ref("Input"),
            "responses": {"200": {"description": "Successful Response", **ref("Output")}},
        }
        return {
            "id": model.version_id,
            "created_at": "2024-05-23T23:26:26.222931Z",
            "cog_version": model.cog_version,
            "openapi_schema": {
                "info": {"title": "Cog", "version": "0.1.0"},
                "paths": {"/predictions": {"post": post}},
                "openapi": "3.0.2",
                "components": {"schemas": model.components()},
            },
        }

    def _h_model(self, req: Request, owner: str, name: str) -> _Reply:
        model = self.models.get(f"{owner}/{name}")
        if model is None:
            return _json_reply(404, _NOT_FOUND)
        with self._cond:
            runs = sum(1 for s in self.predictions.values() if s.model_def.ref == model.ref)
        body = {
            "url": f"https://replicate.com/{model.ref}",
            "owner": owner,
            "name": name,
            "description": model.description or None,
            "visibility": "public",
            "github_url": None,
            "paper_url": None,
            "license_url": None,
            "run_count": runs,
            "cover_image_url": None,
            "default_example": None,
            "latest_version": self._version_json(model) if model.pushed else None,
        }
        return _json_reply(200, body, _LIMITS_OTHER)

    def _h_version(self, req: Request, owner: str, name: str, version_id: str) -> _Reply:
        model = self._versions.get(version_id)
        if model is None or model.ref != f"{owner}/{name}":
            return _json_reply(404, _NOT_FOUND)
        return _json_reply(200, self._version_json(model), _LIMITS_OTHER)

    # -- deployments --------------------------------------------------------------------------

    def _h_deployment(self, req: Request, owner: str, name: str) -> _Reply:
        with self._cond:
            deployment = self.deployments.get(f"{owner}/{name}")
            release = deployment.current_release if deployment else None
        if release is None:
            return _json_reply(404, _NOT_FOUND)
        # The shape of the API reference's example ([beta] deployments.retrieve).
        body = {
            "owner": owner,
            "name": name,
            "current_release": {
                "number": release.number,
                "model": release.model_def.ref,
                "version": release.model_def.version_id,
                "created_at": _format_ns(release.created_ns, 6),
                "created_by": {
                    "type": "organization",
                    "username": owner,
                    "name": owner,
                    "avatar_url": f"https://cdn.replicate.com/avatars/{owner}.png",
                    "github_url": None,
                },
                "configuration": {
                    "hardware": release.hardware,
                    "min_instances": release.min_instances,
                    "max_instances": release.max_instances,
                },
            },
        }
        return _json_reply(200, body, _LIMITS_OTHER)

    # -- files --------------------------------------------------------------------------------

    def _h_upload(self, req: Request) -> _Reply:
        raw = req.body if isinstance(req.body, bytes) else b""
        fields = _parse_multipart(req.headers.get("content-type", ""), raw)
        if "content" not in fields:
            detail = "Expected a multipart/form-data body with a `content` file field"
            return _json_reply(400, {"title": "Invalid request", "detail": detail, "status": 400})
        filename, content_type, data = fields["content"]
        metadata = json.loads(fields["metadata"][2]) if "metadata" in fields else {}
        file_id = base64.b64encode(str(uuid.UUID(int=self._rng.getrandbits(128))).encode()).decode()
        now_ns = time.time_ns()
        md5 = hashlib.md5(data).hexdigest()
        meta = {
            "id": file_id,
            "name": filename or "file",
            "content_type": content_type,
            "size": len(data),
            "etag": md5,
            "checksums": {"sha256": hashlib.sha256(data).hexdigest(), "md5": md5},
            "metadata": metadata,
            "created_at": _format_ns(now_ns, 3),
            "expires_at": _format_ns(now_ns + 86400 * 10**9, 3),
            "urls": {"get": f"{self.base_url}/v1/files/{file_id}"},
        }
        with self._cond:
            self.uploads[file_id], self._file_meta[file_id] = data, meta
        return _json_reply(201, meta, {"Content-Type": "application/json; charset=UTF-8"})

    def _h_file(self, req: Request, file_id: str) -> _Reply:
        meta = self._file_meta.get(file_id)
        return _json_reply(200, meta) if meta else _json_reply(404, _NOT_FOUND)

    def _h_file_download(self, req: Request, file_id: str) -> _Reply:
        meta = self._file_meta.get(file_id)
        if meta is None:
            return _json_reply(404, _NOT_FOUND)
        return _Reply(200, self.uploads[file_id], {"Content-Type": meta["content_type"]})

    def _h_delivery(self, req: Request, pred_id: str, name: str) -> _Reply:
        data = self.output_files.get((pred_id, urllib.parse.unquote(name)))
        if data is None:
            return _Reply(404, b"Not Found", {"Content-Type": "text/plain"})
        headers = {
            "Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "Cache-Control": "public,max-age=3600",
            "ETag": f'"{hashlib.md5(data).hexdigest()}"',
        }
        return _Reply(200, data, headers)


def _route(method: str, path: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(endpoint, handler name, path parameters) for a request, or None if nothing serves it."""
    for route_method, pattern, endpoint, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return endpoint, handler, match.groups()
    return None


def _timings(state: PredictionState) -> dict[str, float]:
    """`predict_time` (from start, so not when it never started) and `total_time` (from create)."""
    assert state.completed_ns is not None
    timings = {"total_time": round((state.completed_ns - state.created_ns) / 1e9, 6)}
    if state.started_ns is not None:
        timings["predict_time"] = round((state.completed_ns - state.started_ns) / 1e9, 6)
    return dict(sorted(timings.items()))  # the API's keys come sorted


def _model_metrics(state: PredictionState) -> dict[str, Any]:
    """What a succeeded prediction reports beyond its timings (see `ModelDef.metrics`)."""
    model, metrics = state.model_def, _timings(state)
    if model.is_language_model:
        # A word is a token here: the standard models' chunks are words.
        words = [v for v in state.effective_input.values() if isinstance(v, str)]
        metrics["input_token_count"] = sum(len(text.split()) for text in words)
        metrics["output_token_count"] = sum(1 for chunk in state.output or [] if chunk != "")
        if state.first_output_ns is not None and state.started_ns is not None:
            metrics["time_to_first_token"] = round((state.first_output_ns - state.started_ns) / 1e9, 6)
    if state.image_count:
        metrics["image_count"] = state.image_count
    extra = model.metrics
    if callable(extra):
        extra = extra(dict(state.effective_input), state.output)
    metrics.update(extra or {})
    # Last, so a `predict_time` or token count the test set gives an exact rate too.
    tokens, predict_s = metrics.get("output_token_count"), metrics.get("predict_time")
    if model.is_language_model and tokens is not None and predict_s and "tokens_per_second" not in metrics:
        metrics["tokens_per_second"] = round(tokens / predict_s, 6)
    return {key: value for key, value in sorted(metrics.items()) if value is not None}


def _format_ns(ns: int, digits: int) -> str:
    secs, frac = divmod(ns, 10**9)
    stamp = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}"[: len(stamp) + 1 + digits] + "Z"


def _invalid(problems: list[dict[str, str]]) -> _Reply:
    detail = "\n".join(f"- {p['field'] or 'body'}: {p['description']}" for p in problems)
    body = {"title": "Input validation failed", "detail": detail, "status": 422}
    return _json_reply(422, {**body, "invalid_fields": problems})


def _prefer_wait_s(prefer: str) -> float | None:
    """Seconds a `Prefer: wait[=N]` header asks to hold the request (1-60), or None."""
    for item in prefer.split(","):
        key, _, value = item.strip().partition("=")
        if key.strip().lower() == "wait":
            try:
                return min(60.0, max(1.0, float(value))) if value else 60.0
            except ValueError:
                return 60.0
    return None


def _cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}={seq}".encode()).decode().rstrip("=")


def _parse_iso_ns(text: str) -> int:
    # Trim to microseconds: fromisoformat on 3.10 rejects longer fractions and `Z`.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    return int(datetime.fromisoformat(text).timestamp() * 1e9)


def _match_subject(req: Request) -> Any:
    # Create faults match on the JSON body; everything else on where the request went.
    if req.endpoint == "create":
        return req.body
    return {"path": req.path, "method": req.method, "query": req.query}


def _matches(match: Callable[[Any], bool], subject: Any) -> bool:
    try:
        return bool(match(subject))
    except Exception:  # a predicate that cannot read this body simply does not match it
        return False


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], handler: type, emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall without a network.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def close_connections(self) -> None:
        """Shut open keep-alive sockets so their handler threads end."""
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-answer on purpose in tests (timeouts, cancels); stay quiet then.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; Nagle plus delayed ACKs would add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        """Answer any method through the emulator."""
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        peer = "{}:{}".format(*self.client_address[:2])
        emulator = self.server.emulator
        with emulator._cond:
            emulator._answering += 1
        try:
            reply = emulator._handle(self.command, self.path, headers, raw, peer)
        finally:
            with emulator._cond:
                emulator._answering -= 1
        if reply.drop:
            self.close_connection = True  # no status line at all: the client sees a disconnect
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        view = memoryview(reply.body)
        end = len(view) // 2 if reply.truncate else len(view)
        for start in range(0, end, _CHUNK):  # large outputs go out in pieces
            self.wfile.write(view[start : min(start + _CHUNK, end)])
        if reply.truncate:
            self.close_connection = True

    do_POST = do_DELETE = do_PUT = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""
