"""A Replicate deployment (`deployment: owner/name`): the hosted backend, creating on the deployment.

Everything but resolving and creating is the hosted backend's: polls, cancels, uploads, the lookup of a
create whose answer was lost, `Prefer: wait` and `Cancel-After`. A deployment runs the version of its
current release, which its owner may change while a run goes on: the version is read once at the start
(the inputs are checked against its schema) and each result records the version its prediction reports.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

from ..errors import BackendSetupError
from ..spec.model import DEPLOYMENT_PATTERN
from .base import ModelInfo, OnCreated, Prediction
from .replicate_api import ReplicateBackend, fetch_version, setup_error, to_prediction, translate_error


class DeploymentBackend(ReplicateBackend):
    """Predictions on `POST /v1/deployments/{owner}/{name}/predictions`."""

    def __init__(
        self,
        deployment: str,
        token: str,
        *,
        max_connections: int = 16,
        cancel_after_s: float | None = None,
        sync_wait_s: int = 60,
    ) -> None:
        if not DEPLOYMENT_PATTERN.match(deployment):
            raise ValueError(f"not a deployment: {deployment!r}")
        super().__init__(
            deployment,
            token,
            max_connections=max_connections,
            cancel_after_s=cancel_after_s,
            sync_wait_s=sync_wait_s,
        )
        self.deployment = deployment
        self.model_ref = f"deployment:{deployment}"
        # The models and versions its releases ran: what a lost create's prediction reports.
        self._models: set[str] = set()
        self._versions: set[str] = set()

    def start(self) -> ModelInfo:
        """Read the deployment's current release (`GET /v1/deployments/...`), then its version's schema."""
        what = f"deployment {self.deployment}"
        release = self._current_release(what)
        owner, _, name = release.model.partition("/")
        used = f"{what} runs {release.model} version {release.version}"
        try:
            version = fetch_version(self.client, owner, name, release.version)
        except Exception as error:
            raise BackendSetupError(
                f"{used}, whose schema could not be read: {translate_error(error, what)}"
            ) from None
        self.version = version.id
        endpoint = (
            f"deployment {self.deployment} (POST /v1/deployments/{self.deployment}/predictions; "
            f"release {release.number}: {release.model} version {version.id[:12]})"
        )
        return ModelInfo(version=version.id, openapi_schema=version.openapi_schema, endpoint=endpoint)

    def _current_release(self, what: str) -> Any:
        try:
            deployment = self.client.deployments.get(self.deployment)
        except Exception as error:
            raise setup_error(
                translate_error(error, what),
                what,
                check="the owner/name (https://replicate.com/deployments) and that your token's account "
                "owns it",
            ) from None
        release = deployment.current_release
        if release is None:
            raise BackendSetupError(f"{what} has no release, so nothing can run on it: create one first")
        self._models.add(release.model)
        self._versions.add(release.version)
        return release

    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        """Create on the deployment with `Prefer: wait`, as the hosted backend creates on a version."""
        wait_s = max(1, min(self.sync_wait_s, math.floor(time_left_s)))
        try:
            created = self.client.deployments.predictions.create(
                self.deployment, input=dict(model_input), wait=wait_s
            )
        except Exception as error:
            raise translate_error(error, "create") from None
        on_created(created.id)
        return to_prediction(created)

    def find_created(self, model_input: Mapping[str, Any], created_after: str) -> Prediction | None:
        """As the hosted backend, once it knows what the deployment runs now (its release may change)."""
        with contextlib.suppress(BackendSetupError):  # else the releases already known identify them
            self._current_release(f"deployment {self.deployment}")
        return super().find_created(model_input, created_after)

    def _is_ours(self, found: Any) -> bool:
        return getattr(found, "model", None) in self._models or found.version in self._versions
