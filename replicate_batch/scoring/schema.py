"""`json_schema`: 1 when the output is JSON valid against a JSON Schema (draft 2020-12)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import JsonSchemaEntry
from .facts import Check, JobFacts, scored_json
from .fields import MISSING
from .score import ONE, ZERO, Score, unscored

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


def conforms(value: Any, validator: Validator) -> Score:
    """1 when the value is JSON (MISSING is not) valid under the validator's schema."""
    if value is MISSING:
        return ZERO
    try:
        return ONE if validator.is_valid(value) else ZERO
    except Exception as error:  # a `$ref` that cannot be resolved, a pattern the engine rejects, ...
        return unscored(f"the schema could not be checked: {error}")


def json_schema_check(entry: JsonSchemaEntry) -> Check:
    """`json_schema` bound to its entry (the validator is built once)."""
    import jsonschema  # loaded when a spec has a json_schema scorer: importing the package stays cheap

    validator = jsonschema.Draft202012Validator(entry.json_schema)

    def check(facts: JobFacts) -> Score:
        return conforms(scored_json(facts), validator)

    return check
