"""Attach the worker's own diagnosis to an error the ``send`` path met, plus what only the operator sees."""

from __future__ import annotations

from urllib.parse import urlsplit

from worker.config import WorkerConfig
from worker.diagnostics import diagnose as worker_diagnose
from worker.errors import MutationError, SigningError
from worker.names import APPSYNC_ENDPOINT_RE


def diagnose(error: MutationError, config: WorkerConfig, field: str, caller_arn: str | None) -> MutationError:
    """The worker's own diagnosis, with a sharper signing hint where the operator's config shows the mismatch."""
    if isinstance(error, SigningError) and not error.diagnosis:
        error.diagnosis = signing_hint(config, error.reason)
    return worker_diagnose(error, field, caller_arn, config.role_arn, config.session_name)


def signing_hint(config: WorkerConfig, reason: str = "") -> str | None:
    """A concrete mismatch between the endpoint and the signed region, when one is visible.

    The signed host is always the URL's own (``config.host``), so only the region can disagree.
    """
    match = APPSYNC_ENDPOINT_RE.match(urlsplit(config.appsync_url).hostname or "")
    if match and match["region"] != config.region:
        return (
            f"the request is signed for region {config.region!r} (APPSYNC_REGION) but the endpoint is in "
            f"{match['region']!r}: unset APPSYNC_REGION or set it to {match['region']}"
        )
    if "scoped to a valid region" in reason:
        return (
            f"AppSync refused the credential scope's region {config.region!r}: the request must be signed for "
            "the API's own region; set APPSYNC_REGION (custom domains) or accounts.region to it"
        )
    return None
