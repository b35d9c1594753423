"""The handler's own decisions: which event shape it is, and when the invocation must report."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest
import structlog

from sandbox.lambda_runtime import LambdaContext, eventbridge_event
from worker.handler import EventShapeError, handle_event, report_by
from worker.sources import eventbridge as eventbridge_source
from worker.sources import sqs as sqs_source


@pytest.mark.parametrize(
    ("left_ms", "margin"),
    [(60_000, 1.0), (10_000, 1.0), (2_500, 0.25), (300, 0.1), (50, 0.1)],
)
def test_the_report_deadline_keeps_a_margin_before_lambdas(left_ms: int, margin: float) -> None:
    context = LambdaContext(timeout_ms=left_ms)
    now = context.started
    deadline = report_by(context, now)
    assert deadline is not None
    assert deadline == pytest.approx(now + left_ms / 1000 - margin, abs=0.01)


def test_no_context_no_deadline() -> None:
    assert report_by(object(), 0.0) is None


SQS_RECORD = {"messageId": "m1", "eventSource": "aws:sqs", "body": "{}"}


@pytest.mark.parametrize(
    ("event", "sqs", "eventbridge"),
    [
        ({"Records": [SQS_RECORD]}, True, False),
        ({"Records": []}, False, False),
        ({"Records": [{**SQS_RECORD, "eventSource": "aws:sns"}]}, False, False),
        (
            {"Records": [{"eventSource": "aws:sqs"}]},
            False,
            False,
        ),  # no messageId: nothing to report per record
        (eventbridge_event({}, source="s", detail_type="d", account="1", region="r"), False, True),
        ({"detail-type": "d", "source": "s"}, False, False),
    ],
)
def test_event_shapes(event: dict[str, Any], sqs: bool, eventbridge: bool) -> None:
    assert (sqs_source.matches(event), eventbridge_source.matches(event)) == (sqs, eventbridge)


@pytest.mark.parametrize("event", [[], "text", {"Records": []}, {"detail-type": "d"}, {"hello": 1}])
def test_an_unrecognised_event_is_refused_before_anything_is_touched(event: Any) -> None:
    """The stand-in runtime has no credentials, client or batch: touching any of them would fail differently."""
    runtime = types.SimpleNamespace(invocations=0, log=structlog.get_logger("test"))
    with pytest.raises(EventShapeError):
        asyncio.run(handle_event(runtime, event, LambdaContext()))  # type: ignore[arg-type]
