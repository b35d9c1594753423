"""Attach the worker's own diagnosis to an error the ``send`` path met, plus what only the operator sees."""

from __future__ import annotations

from urllib.parse import urlsplit

from worker.config import APPSYNC_HOST_RE, WorkerConfig
from worker.diagnostics import explain_iam_denied, explain_resolver_unauthorized, explain_signature_rejected
from worker.errors import IAMDeniedError, MutationError, ResolverUnauthorizedError, SigningError


def diagnose(error: MutationError, config: WorkerConfig, field: str, caller_arn: str | None) -> MutationError:
    """Fill ``error.diagnosis`` the way the worker's client does, for the same error types."""
    if error.diagnosis:
        return error
    if isinstance(error, ResolverUnauthorizedError):
        error.diagnosis = explain_resolver_unauthorized(
            field, caller_arn, config.role_arn, config.session_name
        )
    elif isinstance(error, IAMDeniedError):
        error.diagnosis = explain_iam_denied(field, caller_arn, config.role_arn)
    elif isinstance(error, SigningError):
        error.diagnosis = signing_hint(config, error.reason) or explain_signature_rejected(error.reason)
    return error


def signing_hint(config: WorkerConfig, reason: str = "") -> str | None:
    """A concrete mismatch between the URL and the signed host/region, when one is visible."""
    sent_host = urlsplit(config.appsync_url).netloc.rpartition("@")[2]
    if config.host != sent_host:
        return (
            f"the request is signed for host {config.host!r} (APPSYNC_HOST) but sent to {sent_host!r}: the "
            "signature covers the Host header, so they must be equal; unset APPSYNC_HOST or fix it"
        )
    match = APPSYNC_HOST_RE.match(sent_host.partition(":")[0])
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
