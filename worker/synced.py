"""Send an upsert or a versioned write, and say truly what became of it.

Imported by ``MutationClient.send`` only when a message asks for one of these: plain mutations never load it.

- **Upsert**: the create is sent (no condition but Amplify's key condition). Applied: ``created``. Refused, the
  record exists (a create that names its record and carries no condition of its own: ``counts_as_applied``), so
  the update is sent with the same input: applied, ``updated``.
- **Versioned write** (update, delete, or an upsert's update): sent with the version's condition. Applied: done.
  Refused: the refusal alone could mean "the stored version is this event's or newer", "there is no such
  record", or "the envelope's own condition is false", so the stored version is read back with the model's get
  query (``get<Model>(<key>) { <field> }``) and compared:

  ============================  =========================================================================
  read back                     outcome
  ============================  =========================================================================
  stored version >= this one    ``superseded`` (a success: nothing to do, the newer state is there)
  no record                     a delete: ``already_applied``; an update: ``RecordNotFound`` (permanent);
                                an upsert: deleted since its create, ``VersionRace`` (transient)
  stored older or absent        the envelope's own condition is false (permanent); without one the record
                                changed between the write and the read: ``VersionRace`` (transient)
  not readable / comparable     ``VersionUnproven`` (permanent, saying what it could mean); a transient read
                                failure leaves the message for redelivery
  ============================  =========================================================================
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from worker.errors import (
    ConditionalCheckFailedError,
    IAMDeniedError,
    MutationError,
    ResolverUnauthorizedError,
    TransientError,
)
from worker.outcomes import Status
from worker.versioning import (
    RecordNotFoundError,
    Stored,
    VersionRaceError,
    VersionUnprovenError,
    compare_stored,
    get_query,
)

if TYPE_CHECKING:
    from worker.client import MutationClient, SendResult
    from worker.envelope import MutationRequest

_log = structlog.get_logger("worker.synced")

CREATED = "created"
UPDATED = "updated"


async def send_synced(
    client: MutationClient, request: MutationRequest, *, deadline: float | None, redelivered: bool
) -> SendResult:
    """``request`` is an upsert (its create, with ``upsert_update``) or a versioned update/delete."""
    if not request.upsert:
        return await _versioned(client, request, deadline, redelivered, before=0, upsert=False)
    create = replace(request, upsert=False, version=None, upsert_update=None)
    update = request.upsert_update
    assert update is not None
    result = await client.send_one(create, deadline=deadline, redelivered=redelivered)
    if result.status is Status.APPLIED:
        _log.info("mutation_upserted", operation=request.field, upsert=CREATED, attempts=result.attempts)
        return replace(result, upsert=CREATED)
    # ALREADY_APPLIED: the create's key condition failed, and it has no other: the record exists.
    if update.version is not None:
        return await _versioned(client, update, deadline, redelivered, before=result.attempts, upsert=True)
    try:
        updated = await client.send_one(update, deadline=deadline, redelivered=redelivered)
    except ConditionalCheckFailedError as refused:
        refused.attempts += result.attempts
        if update.has_condition:
            raise  # condition_failure's reason: the envelope's own condition is false, or the record is gone
        raise _counted(
            VersionRaceError(
                f"{update.field}: the upsert's create found the record, then its update found none: it was deleted "
                "in between; nothing was written, sent again later"
            ),
            refused.attempts,
        ) from None
    except MutationError as error:
        error.attempts += result.attempts
        raise
    attempts = result.attempts + updated.attempts
    _log.info("mutation_upserted", operation=update.field, upsert=UPDATED, attempts=attempts)
    return replace(updated, attempts=attempts, upsert=UPDATED)


async def _versioned(
    client: MutationClient,
    request: MutationRequest,
    deadline: float | None,
    redelivered: bool,
    *,
    before: int,
    upsert: bool,
) -> SendResult:
    version = request.version
    assert version is not None
    try:
        result = await client.send_one(request, deadline=deadline, redelivered=redelivered)
    except ConditionalCheckFailedError as refused:
        attempts = before + refused.attempts
    except MutationError as error:
        error.attempts += before
        raise
    else:
        attempts = before + result.attempts
        if upsert:
            _log.info("mutation_upserted", operation=request.field, upsert=UPDATED, attempts=attempts)
        return replace(result, attempts=attempts, upsert=UPDATED if upsert else None)

    stored, attempts = await _read_back(client, request, deadline, attempts, upsert)
    from worker.client import SendResult

    field = request.field
    if stored is Stored.NOT_OLDER:
        _log.info(
            "mutation_superseded",
            operation=field,
            version_field=version.field,
            attempts=attempts,
            detail="the stored version is this event's or newer (read back); nothing written",
        )
        return SendResult(Status.SUPERSEDED, field, None, attempts)  # nothing created or updated
    record = _record(request)
    if stored is Stored.NO_RECORD:
        if request.is_delete:
            _log.info(
                "mutation_already_applied", operation=field, attempt=attempts, detail="no record (read back)"
            )
            return SendResult(Status.ALREADY_APPLIED, field, None, attempts)
        if upsert:
            raise _counted(
                VersionRaceError(
                    f"{field}: the upsert's create found {record}, then its versioned update was refused and the "
                    "record is gone (read back): it was deleted in between; nothing was written, sent again later"
                ),
                attempts,
            )
        raise _counted(
            RecordNotFoundError(
                f"{field}: there is no {record} (read back after the versioned update was refused): a versioned "
                'update applies only to an existing record; send it as a create with "upsert": true to create it'
            ),
            attempts,
        )
    # Stored.OLDER: the version did not refuse it.
    if request.has_condition:
        raise _counted(
            ConditionalCheckFailedError(
                f"{field}: the conditional write was refused and the stored {version.field} of {record} is older "
                "than this event's or absent (read back): the envelope's own condition is false"
            ),
            attempts,
        )
    raise _counted(
        VersionRaceError(
            f"{field}: the versioned write was refused, yet the stored {version.field} of {record} is older than "
            "this event's or absent (read back): the record changed between the write and the read (created, "
            "deleted, or written without a version); nothing was written, sent again later"
        ),
        attempts,
    )


async def _read_back(
    client: MutationClient, request: MutationRequest, deadline: float | None, attempts: int, upsert: bool
) -> tuple[Stored, int]:
    """The stored version of the record ``request`` names, compared with its own (and the requests made so far,
    the read's included: they count in the metrics' ``Attempts``); never a guess."""
    version, model, key = request.version, request.model, request.record_key
    assert version is not None
    meanings = _meanings(request, upsert)
    if model is None or key is None:
        raise _counted(
            VersionUnprovenError(
                f"{request.field}: the conditional write was refused: {meanings}; the envelope names "
                "no record to read back, so the worker cannot tell which"
            ),
            attempts,
        )
    getter = f"get{model}"
    try:
        data, reads = await client.read(get_query(model, key, version.field), deadline=deadline)
    except MutationError as error:
        attempts += error.attempts
        reason = (
            f"{request.field}: the conditional write was refused: {meanings}; reading the stored {version.field} "
            f"back with {getter} failed ({error.error_type}: {error.reason}), so the worker cannot tell which"
        )
        if error.retryable:
            raise _counted(TransientError(reason, error_type="VersionReadFailed"), attempts) from None
        diagnosis = error.diagnosis
        if isinstance(error, IAMDeniedError | ResolverUnauthorizedError):
            diagnosis = (
                f"allow the mutator role appsync:GraphQL on .../types/Query/fields/{getter} (and, on Gen 1, let "
                f"{model}'s @auth admit it for reads): a refused versioned write is only reported superseded once "
                "the stored version has been read"
            )
        raise _counted(VersionUnprovenError(reason, diagnosis=diagnosis), attempts) from None
    attempts += reads
    record = data.get(getter) if isinstance(data, dict) else None
    try:
        return compare_stored(record, version), attempts
    except VersionUnprovenError as error:
        raise _counted(
            VersionUnprovenError(f"{request.field}: the conditional write was refused, and {error.reason}"),
            attempts,
        ) from None


def _meanings(request: MutationRequest, upsert: bool) -> str:
    """What a refusal of this versioned write can mean, before the record is read."""
    assert request.version is not None
    parts = [f"the stored {request.version.field} is this event's or newer (superseded)"]
    parts.append("the record was deleted since the upsert's create" if upsert else "there is no such record")
    if request.has_condition:
        parts.append("the envelope's own condition is false")
    return ", or ".join(parts)


def _record(request: MutationRequest) -> str:
    fields = request.key_fields
    if request.record_id is None:
        return f"{request.model} record"
    if len(fields) == 1:
        return f"{request.model} with {fields[0]} {request.record_id!r}"
    return f"{request.model} with {request.record_id}"


def _counted(error: MutationError, attempts: int) -> MutationError:
    error.attempts = attempts
    return error
