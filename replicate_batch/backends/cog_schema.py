"""Generate a Cog model's `.cog/openapi_schema.json` without Docker or the Go `cog` CLI.

Cog's server (coglet) uses that file to validate inputs (422 instead of a failed prediction), to
serve `GET /openapi.json` and to allow SSE streaming; `cog build` normally writes it. This module
writes the same document by inspecting the predictor with cog 0.23.1's private `cog._inspector`
(the code coglet itself runs, hence the pinned version) and laying it out the way the Go CLI does:
`components.schemas.Input` / `Output`, one enum schema per `choices=` input, `x-order`,
`format: uri` for files, and `x-cog-streaming` on `/predictions` when `run()`/`predict()` carries
`@cog.streaming`. Only the schemas the paths refer to are included; coglet reads no others.

Over 300 lines because it mirrors one program (the Go CLI's schema writer) end to end; the layout
of the document (`_document`) could move to a module of its own.

Usage: `python -m replicate_batch.backends.cog_schema path/to/model`, or
`write_openapi_schema(model_dir)`,
which runs that command in a subprocess so the model's imports never reach the caller's process.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from ..errors import CogSchemaError

__all__ = ["SCHEMA_PATH", "CogSchemaError", "main", "write_openapi_schema"]

SCHEMA_PATH = Path(".cog") / "openapi_schema.json"
"""Where coglet looks for the schema, relative to the model folder (the server's cwd)."""

_EXIT_INVALID = 2
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding replicate_batch/


class _Invalid(Exception):
    """A reason to stop `main` with exit status 2."""


def write_openapi_schema(model_dir: Path, *, timeout_s: float = 300.0) -> Path:
    """Write `<model_dir>/.cog/openapi_schema.json` from a subprocess and return its path."""
    model_dir = Path(model_dir).expanduser().resolve()
    if not model_dir.is_dir():
        raise CogSchemaError(f"{model_dir}: not a folder")
    env = dict(os.environ)
    # The child runs with cwd=model_dir, so it must find this package through PYTHONPATH.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "replicate_batch.backends.cog_schema", str(model_dir)]
    try:
        done = subprocess.run(
            command, cwd=model_dir, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise CogSchemaError(
            f"{model_dir}: inspecting the predictor took longer than {timeout_s:g} s"
        ) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"schema generator exited with status {done.returncode}"
        raise CogSchemaError(reason if reason.startswith(str(model_dir)) else f"{model_dir}: {reason}")
    return model_dir / SCHEMA_PATH


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write `.cog/openapi_schema.json` for one model folder; 2 when it cannot."""
    parser = argparse.ArgumentParser(
        prog="python -m replicate_batch.backends.cog_schema",
        description="Write .cog/openapi_schema.json for a Cog model folder, as `cog build` would.",
    )
    parser.add_argument("model_dir", nargs="?", default=".", help="folder with cog.yaml")
    args = parser.parse_args(argv)
    model_dir = Path(args.model_dir).expanduser().resolve()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            schema = _build_schema(model_dir)
    except _Invalid as exc:
        print(f"{model_dir}: {exc}", file=sys.stderr)
        return _EXIT_INVALID
    target = model_dir / SCHEMA_PATH
    target.parent.mkdir(exist_ok=True)
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    partial.replace(target)
    for warning in {str(w.message) for w in caught}:
        print(f"{model_dir}: warning: {warning}", file=sys.stderr)
    print(target)
    return 0


def _build_schema(model_dir: Path) -> dict[str, Any]:
    """Read cog.yaml, import the predictor and return its OpenAPI document."""
    module_file, predictor_name = _read_predict_ref(model_dir)
    try:
        import cog
        from cog import _inspector, predictor
    except ImportError as exc:
        raise _Invalid(
            f"cog is not installed for {sys.executable} ({exc}): pip install cog==0.23.1"
        ) from None
    # Like the server: the model folder is the cwd and `predict.py` imports as `predict`.
    os.chdir(model_dir)
    sys.dont_write_bytecode = True  # leave nothing in the model folder but the schema
    sys.path.insert(0, str(module_file.parent))
    module_name = module_file.stem
    try:
        spec = importlib.util.spec_from_file_location(module_name, module_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {module_file.name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        raise _Invalid(f"importing {module_file.name} failed: {_describe(exc)}") from None
    try:
        info = _inspector.create_predictor(module_name, predictor_name)
    except Exception as exc:
        raise _Invalid(f"{module_file.name}:{predictor_name}: {_describe(exc)}") from None

    target = getattr(module, predictor_name)
    if inspect.isclass(target):
        method_name = "run" if predictor._user_method_owner(target, "run") else "predict"
        function = getattr(target, method_name)
    else:
        method_name, function = predictor_name, target
    streaming = _has_streaming_decorator(module_file, predictor_name, method_name)
    if streaming and info.output.kind.name not in ("ITERATOR", "CONCAT_ITERATOR"):
        raise _Invalid(
            f"{module_file.name}:{predictor_name}.{method_name}: "
            "@streaming requires an Iterator or ConcatenateIterator output"
        )
    accepts = _accept_by_input(function)
    input_schema, enum_schemas = _input_schema(info.inputs, accepts)
    output_schema: dict[str, Any] = dict(info.output.json_type())
    return _document(input_schema, output_schema, enum_schemas, streaming, str(cog.__version__))


def _read_predict_ref(model_dir: Path) -> tuple[Path, str]:
    """The predictor file and name from cog.yaml's `predict: "predict.py:Predictor"`."""
    if not model_dir.is_dir():
        raise _Invalid("not a folder")
    config_path = model_dir / "cog.yaml"
    if not config_path.is_file():
        raise _Invalid("no cog.yaml in this folder")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _Invalid(f"cog.yaml cannot be read: {_describe(exc)}") from None
    ref = config.get("predict") if isinstance(config, dict) else None
    if not isinstance(ref, str) or ":" not in ref:
        raise _Invalid('cog.yaml has no `predict:` entry like `predict: "predict.py:Predictor"`')
    file_part, _, name = ref.rpartition(":")
    module_file = (model_dir / file_part).resolve()
    if not module_file.is_file():
        raise _Invalid(f"cog.yaml: predict: {file_part} does not exist")
    if not name.isidentifier():
        raise _Invalid(f"cog.yaml: predict: {name!r} is not a Python name")
    return module_file, name


def _has_streaming_decorator(module_file: Path, predictor_name: str, method_name: str) -> bool:
    """True if the predict function is decorated with cog's `@streaming`, as the Go CLI checks."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"), filename=str(module_file))
    cog_names, streaming_names = set(), set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            cog_names |= {a.asname or a.name for a in node.names if a.name == "cog"}
        elif isinstance(node, ast.ImportFrom) and node.module == "cog":
            streaming_names |= {a.asname or a.name for a in node.names if a.name == "streaming"}
    function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == predictor_name:
            function = next(
                (
                    item
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == method_name
                ),
                None,
            )
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == predictor_name == method_name
        ):
            function = node
    if function is None:
        return False
    for decorator in function.decorator_list:
        expr = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(expr, ast.Name) and expr.id in streaming_names:
            return True
        if (
            isinstance(expr, ast.Attribute)
            and expr.attr == "streaming"
            and isinstance(expr.value, ast.Name)
            and expr.value.id in cog_names
        ):
            return True
    return False


def _accept_by_input(function: Any) -> dict[str, str]:
    """`Input(accept=...)` per input name; cog's inspector drops it, the Go CLI emits it."""
    accepts: dict[str, str] = {}
    for name, parameter in inspect.signature(inspect.unwrap(function)).parameters.items():
        accept = getattr(parameter.default, "accept", None)
        if isinstance(accept, str):
            accepts[name] = accept
    return accepts


def _input_schema(
    inputs: Mapping[str, Any], accepts: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`components.schemas.Input` and the enum schemas its `choices=` inputs refer to."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    enums: dict[str, dict[str, Any]] = {}
    for name, field in sorted(inputs.items(), key=lambda item: int(item[1].order)):
        field_type = field.type
        prop: dict[str, Any] = {"x-order": field.order}
        if field.choices:
            enums[name] = {
                "title": name,
                "description": "An enumeration.",
                "enum": [_json_value(c) for c in field.choices],
                "type": field_type.primitive.json_type()["type"],
            }
            prop["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
        else:
            prop["title"] = " ".join(p[:1].upper() + p[1:] for p in name.split("_"))
            prop.update(field_type.json_type())
        repetition = field_type.repetition.name
        nullable = repetition in ("OPTIONAL", "OPTIONAL_REPEATED")
        default = _default_value(field.default)
        if default is None:
            if not nullable:
                required.append(name)
        else:
            prop["default"] = _json_value(default)
        if nullable:
            prop["nullable"] = True
        if field.description is not None:
            prop["description"] = field.description
        if field.ge is not None:
            prop["minimum"] = _number(field.ge)
        if field.le is not None:
            prop["maximum"] = _number(field.le)
        if field.min_length is not None:
            prop["minLength"] = field.min_length
        if field.max_length is not None:
            prop["maxLength"] = field.max_length
        if field.regex is not None:
            prop["pattern"] = field.regex
        if field.deprecated:
            prop["deprecated"] = True
        if name in accepts:
            prop["x-cog-accept"] = accepts[name]
        # The Go CLI marshals each property as a Go map, i.e. with sorted keys.
        properties[name] = dict(sorted(prop.items()))
    schema: dict[str, Any] = {"title": "Input", "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema, enums


def _document(
    input_schema: dict[str, Any],
    output_schema: dict[str, Any],
    enum_schemas: Mapping[str, dict[str, Any]],
    streaming: bool,
    cog_version: str,
) -> dict[str, Any]:
    """The OpenAPI 3.0.2 document around the Input and Output schemas."""

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_body(name: str) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": ref(name)}}}

    text = {"type": "string"}
    operation: dict[str, Any] = {
        "summary": "Predict",
        "description": "Run a single prediction on the model",
        "operationId": "predict_predictions_post",
        "requestBody": json_body("PredictionRequest"),
        "responses": {
            "200": {"description": "Successful Response", **json_body("PredictionResponse")},
            "422": {"description": "Validation Error", **json_body("HTTPValidationError")},
        },
    }
    if streaming:
        operation["x-cog-streaming"] = True
    schemas: dict[str, Any] = {"Input": input_schema, "Output": output_schema, **enum_schemas}
    schemas["PredictionRequest"] = {
        "title": "PredictionRequest",
        "type": "object",
        "properties": {"id": {"title": "Id", **text}, "input": ref("Input")},
    }
    schemas["PredictionResponse"] = {
        "title": "PredictionResponse",
        "type": "object",
        "properties": {
            "input": ref("Input"),
            "output": ref("Output"),
            "id": {"title": "Id", **text},
            "status": {"title": "Status", **text},
            "error": {"title": "Error", **text},
            "logs": {"title": "Logs", **text},
            "metrics": {"title": "Metrics", "type": "object"},
        },
    }
    schemas["HTTPValidationError"] = {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "array", "items": ref("ValidationError")}},
    }
    schemas["ValidationError"] = {
        "title": "ValidationError",
        "required": ["loc", "msg", "type"],
        "type": "object",
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [text, {"type": "integer"}]},
            },
            "msg": {"title": "Message", **text},
            "type": {"title": "Error Type", **text},
        },
    }
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": cog_version},
        "paths": {"/predictions": {"post": operation}},
        "components": {"schemas": schemas},
    }


def _default_value(default: Any) -> Any:
    """The declared default, resolving a dataclass `field(default_factory=...)`."""
    factory = getattr(default, "default_factory", None)
    if callable(factory):
        return factory()
    return default


def _json_value(value: Any) -> Any:
    """A default or choice as plain JSON (enums, paths and secrets unwrapped)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _json_value(value.value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    secret = getattr(value, "get_secret_value", None)
    return secret() if callable(secret) else str(value)


def _number(value: float) -> float | int:
    """A bound as JSON: integral values without a fraction, as the Go CLI writes them."""
    return int(value) if float(value).is_integer() else float(value)


def _describe(exc: BaseException) -> str:
    """`Type: message` on one line."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
