"""What became of one message: the only words the worker, the operator's CLI and the logs use for it."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    #: AppSync returned the mutation field's data: the effect exists in account B.
    APPLIED = "applied"
    #: The same effect was proven present already (a create whose record id exists, a redelivered delete
    #: whose item is gone), with no condition of the caller's that could explain the refusal instead.
    ALREADY_APPLIED = "already_applied"
    #: Will never succeed (or this was its last delivery): in the worker's DLQ with its reason.
    DEAD_LETTERED = "dead_lettered"
    #: Left on the source queue for redelivery (transient, out of time, or the DLQ send failed).
    FAILED = "failed"
    #: FIFO: an earlier record of the same message group failed, so this one was not sent.
    NOT_ATTEMPTED = "failed_not_attempted"

    @property
    def is_success(self) -> bool:
        return self in (Status.APPLIED, Status.ALREADY_APPLIED)

    @property
    def redelivered(self) -> bool:
        """Reported to SQS as a batch item failure."""
        return self in (Status.FAILED, Status.NOT_ATTEMPTED)
