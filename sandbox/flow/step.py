"""The lesson's step for one region: deploy the model, verify it right after, and on a failure let
the caller's policy decide whether to try again. The lesson's flow (`Deployment`) and a rollout's
waves (`Rollout`) both take their regions through it, so deployments, verifications, retries and
the steps they trace are written once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sandbox.core.models import Model, predictions_match
from sandbox.flow.backend import Backend

Record = Callable[[str, str, str], None]  # (action, region, result): one traced step
OnFailure = Callable[[str, str], bool]  # (region, "deployment" | "verification"): try again?


def smoke_test(backend: Backend, region: str, model: Model) -> bool:
    """Whether `region` answers `model`'s smoke instances with its expected predictions."""
    served = backend.run(backend.smoke(region, model))
    return served is not None and predictions_match(model.smoke_predictions, served)


class RegionStep:
    """Deploys and verifies `model` on `backend` region by region, tracing each step with
    `record`. After a failed deployment or verification, `on_failure` answers True to try again
    (a redeployment), False to give the region up, or raises to end the whole run."""

    def __init__(self, backend: Backend, model: Model, record: Record, on_failure: OnFailure):
        self.backend = backend
        self.model = model
        self._record = record
        self._on_failure = on_failure
        self.deployment_status: dict[str, str] = {}
        self.verification_status: dict[str, str] = {}
        self.attempts: Counter[str] = Counter()  # deployments tried, per region

    def deploy(self, region: str) -> bool:
        """Deploy to `region` until it succeeds (True) or the policy gives the region up."""
        while True:
            self.attempts[region] += 1
            action = "Deploy model" if self.attempts[region] == 1 else "Retry deployment"
            ok = self.backend.run(self.backend.deploy(region, self.model))
            self.deployment_status[region] = "success" if ok else "failed"
            self._record(action, region, "Deployment success" if ok else "Deployment failed")
            if ok:
                return True
            if not self._on_failure(region, "deployment"):
                return False

    def verify(self, region: str) -> bool:
        """Verify `region`; after a failure, redeploy and verify again while the policy allows.
        True once verified, False when the region was given up."""
        while True:
            ok = smoke_test(self.backend, region, self.model)
            self.verification_status[region] = "success" if ok else "failed"
            self._record(
                "Verify deployment", region, "Verification success" if ok else "Verification failed"
            )
            if ok:
                return True
            if not self._on_failure(region, "verification") or not self.deploy(region):
                return False
