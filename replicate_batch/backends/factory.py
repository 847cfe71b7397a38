"""Choose and build the backend for each model entry of a spec."""

from __future__ import annotations

import os
from typing import Protocol

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import Problem, SpecError
from ..redaction import TOKEN_VARIABLE as TOKEN_VARIABLE  # where the runner looks for it
from ..spec.loading import LoadedSpec
from .base import Backend
from .network import environment_problems


class BackendFactory(Protocol):
    """Builds one backend per model entry of a spec, in order (`make_backends` is the default)."""

    def __call__(self, loaded: LoadedSpec, *, concurrency: int, clock: Clock) -> list[Backend]: ...


def make_backends(loaded: LoadedSpec, *, concurrency: int, clock: Clock = SYSTEM_CLOCK) -> list[Backend]:
    """One backend per model entry; a missing token or Cog install is a SpecError, before any request."""
    spec = loaded.spec
    problems = environment_problems()  # an unusable CA bundle would fail every request, or every download
    hosted = [i for i, m in enumerate(spec.models) if m.is_hosted]
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if hosted and not token:
        places = ", ".join(f"models[{i}]" for i in hosted)
        problems.append(
            Problem(
                "environment",
                TOKEN_VARIABLE,
                f"not set, but {places} run on Replicate: export {TOKEN_VARIABLE}=r8_... "
                "(from https://replicate.com/account/api-tokens)",
            )
        )
    if problems:
        raise SpecError(problems)
    backends: list[Backend] = []
    for index, model in enumerate(spec.models):
        if model.kind == "ref":
            from .replicate_api import ReplicateBackend

            assert model.ref is not None
            backends.append(
                ReplicateBackend(model.ref, token, max_connections=concurrency, cancel_after_s=spec.timeout)
            )
        elif model.kind == "deployment":
            from .replicate_deployment import DeploymentBackend

            assert model.deployment is not None
            backends.append(
                DeploymentBackend(
                    model.deployment, token, max_connections=concurrency, cancel_after_s=spec.timeout
                )
            )
        else:
            from .cog_http import make_cog_backend

            backends.append(make_cog_backend(loaded, index, clock))
    return backends
