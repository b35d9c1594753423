"""What became of one message: the only words the worker, the operator's CLI and the logs use for it."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    #: AppSync returned the mutation field's data: the effect exists in account B.
    APPLIED = "applied"
    #: The same effect was proven present already (a create whose record id exists, a redelivered delete
    #: whose item is gone), with no condition of the caller's that could explain the refusal instead.
    ALREADY_APPLIED = "already_applied"
    #: A versioned write refused because the record's stored version is this event's or newer, proven
    #: by reading it back: nothing to do, and nothing lost (the newer state is there). Not retried.
    SUPERSEDED = "superseded"
    #: Will never succeed (or this was its last delivery): in the worker's DLQ with its reason.
    DEAD_LETTERED = "dead_lettered"
    #: Left on the source queue for redelivery (transient, out of time, or the DLQ send failed).
    FAILED = "failed"
    #: FIFO: an earlier record of the same message group failed, so this one was not sent.
    NOT_ATTEMPTED = "failed_not_attempted"
    #: From a producer the configuration does not name (another queue, account or source, a direct invocation
    #: that is not enabled): nothing was sent, nothing dead-lettered. An SQS record is reported failed (it is not
    #: ours to delete: it goes back to its own queue and that queue's redrive).
    REFUSED = "refused"

    @property
    def is_success(self) -> bool:
        return self in (Status.APPLIED, Status.ALREADY_APPLIED, Status.SUPERSEDED)

    @property
    def redelivered(self) -> bool:
        """Reported to SQS as a batch item failure."""
        return self in (Status.FAILED, Status.NOT_ATTEMPTED, Status.REFUSED)
