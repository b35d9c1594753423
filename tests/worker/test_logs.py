"""``worker.logs.scrub``: every case and form of a signing secret is masked; lines without one are untouched."""

from __future__ import annotations

import json

import pytest

from worker import logs
from worker.logs import scrub

SIGNATURE = "4f" * 32
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
QUERY_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE%2Fsession%2Btoken%3D%3D"
KEY_ID = "ASIAQWERTYUIOPASDFGH"
LONG_TERM_KEY_ID = "AKIAQWERTYUIOPASDFGH"


def _cases(name: str) -> list[str]:
    return sorted({name, name.lower(), name.upper(), name.title(), name.swapcase()})


SIGNATURE_LINES = [
    f"{form}" for name in _cases("Signature") for form in (f"{name}={SIGNATURE}", f'"{name}": "{SIGNATURE}"')
] + [
    f"AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, signature={SIGNATURE}",
    f"https://h/graphql?X-Amz-Signature={SIGNATURE}&x=1",
    f"x-amz-SIGNATURE={SIGNATURE}",
]
TOKEN_LINES = [
    line
    for name in [*_cases("X-Amz-Security-Token"), "x-amz-security-TOKEN", "X-AMZ-Security-token"]
    for line in (
        f"{name}: {TOKEN}",  # header
        f"{name}:{TOKEN}",
        f"sent headers {{'{name}': '{TOKEN}', 'host': 'h'}}",  # a Python repr
        json.dumps({name: TOKEN, "host": "h"}),  # JSON
        json.dumps({"detail": json.dumps({name: TOKEN})}),  # JSON inside a JSON string
        f"https://h/graphql?{name}={QUERY_TOKEN}&X-Amz-Date=20260101T000000Z",  # query
    )
]
CREDENTIAL_LINES = [
    f"{name}={key}/20260101/us-east-1/appsync/aws4_request"
    for name in _cases("Credential")
    for key in (KEY_ID, LONG_TERM_KEY_ID)
] + [json.dumps({"note": f"Credential={KEY_ID}/20260101"})]
BARE_KEY_LINES = [
    f"access key {KEY_ID} from env",
    f"key={LONG_TERM_KEY_ID}",
    json.dumps({"k": KEY_ID}),
    f"({LONG_TERM_KEY_ID})",
]


@pytest.mark.parametrize("line", SIGNATURE_LINES)
def test_signature_in_any_case_and_form_is_masked(line: str) -> None:
    scrubbed = scrub(line)
    assert SIGNATURE not in scrubbed
    assert "[redacted]" in scrubbed


@pytest.mark.parametrize("line", TOKEN_LINES)
def test_security_token_in_any_case_header_query_and_json_form_is_masked(line: str) -> None:
    scrubbed = scrub(line)
    assert TOKEN not in scrubbed and QUERY_TOKEN not in scrubbed
    assert "IQoJ" not in scrubbed  # not even a prefix of it
    assert "[redacted]" in scrubbed
    if "X-Amz-Date" in line:  # the query form stops at the next parameter
        assert "&X-Amz-Date=20260101T000000Z" in scrubbed


@pytest.mark.parametrize("line", CREDENTIAL_LINES)
def test_credential_key_id_in_any_case_of_the_name_is_masked(line: str) -> None:
    scrubbed = scrub(line)
    assert KEY_ID not in scrubbed and LONG_TERM_KEY_ID not in scrubbed
    assert "[redacted]" in scrubbed
    assert "/20260101/" in scrubbed or "/20260101" in scrubbed  # the scope is not secret: kept


@pytest.mark.parametrize("line", BARE_KEY_LINES)
def test_bare_access_key_ids_are_masked(line: str) -> None:
    scrubbed = scrub(line)
    assert KEY_ID not in scrubbed and LONG_TERM_KEY_ID not in scrubbed
    assert "[redacted]" in scrubbed


@pytest.mark.parametrize(
    "line",
    [
        "Asia Pacific (Tokyo) is ap-northeast-1",  # the marker, with nothing to mask
        "asiaqwertyuiopasdfgh is not an access key id (AWS issues them upper-case)",
        "InvalidSignatureException: the request signature we calculated does not match",
        "X-Amz-Security-Token header present",
        "SignatureRejected",
    ],
)
def test_text_with_a_marker_but_no_secret_is_kept(line: str) -> None:
    assert scrub(line) == line


def test_line_without_any_marker_runs_no_regex() -> None:
    line = "applied createTodo order-42 in 12 ms (attempt 1 of 6)"
    assert not logs.needs_scrubbing(line)
    assert scrub(line) is line


def test_every_masked_form_above_passes_the_fast_path_check() -> None:
    """Each pattern's match contains a marker in any case: none of the forms skips the patterns."""
    for line in SIGNATURE_LINES + TOKEN_LINES + CREDENTIAL_LINES + BARE_KEY_LINES:
        assert logs.needs_scrubbing(line), line


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_each_task_carries_its_own_bound_values_and_the_invocations() -> None:
    """Records run as concurrent tasks: each line names its own record, never a neighbour's, and every line
    carries what the invocation bound; after the block nothing is left bound."""
    import asyncio
    import io

    stream = io.StringIO()
    logs.configure_logging("INFO", stream=stream)
    try:
        log = logs.bound_logger("t")

        async def record(message_id: str) -> None:
            token = logs.bind(message_id=message_id)
            try:
                await asyncio.sleep(0)  # the other tasks run in between
                log.info("record_done")
            finally:
                logs.unbind(token)

        with logs.bound(request_id="r-1"):
            await asyncio.gather(*(record(f"m-{n}") for n in range(5)))
            log.info("invocation_done")
        log.info("after")
    finally:
        logs.configure_logging("INFO")
    lines = _lines(stream.getvalue())
    assert sorted(line["message_id"] for line in lines if line["event"] == "record_done") == [
        f"m-{n}" for n in range(5)
    ]
    assert all(line["request_id"] == "r-1" for line in lines if line["event"] != "after")
    assert "message_id" not in lines[-2] and lines[-2]["event"] == "invocation_done"
    assert lines[-1] == {"event": "after", "level": "info", "timestamp": lines[-1]["timestamp"]}
    assert logs.bound_values() == {}


def test_a_lines_own_value_wins_over_a_bound_one_and_bound_secrets_are_redacted() -> None:
    import io

    stream = io.StringIO()
    logs.configure_logging("INFO", stream=stream)
    try:
        with logs.bound(operation="bound", session_token="IQoJ-secret"):
            logs.bound_logger("t").info("x", operation="own")
    finally:
        logs.configure_logging("INFO")
    [line] = _lines(stream.getvalue())
    assert line["operation"] == "own"
    assert line["session_token"] == "[redacted]" and "IQoJ" not in stream.getvalue()


def test_lines_from_threads_and_the_loop_never_interleave() -> None:
    """Executor threads (an AssumeRole refresh, a DLQ send) log while the loop does: every line arrives whole,
    each in one write."""
    import threading

    class Recorder:
        def __init__(self) -> None:
            self.writes: list[str] = []

        def write(self, text: str) -> int:
            self.writes.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    recorder = Recorder()
    logs.configure_logging("INFO", stream=recorder)  # type: ignore[arg-type]
    try:
        log = logs.bound_logger("t")

        def burst(name: str) -> None:
            for n in range(300):
                log.info("line", writer=name, n=n, padding="x" * 200)

        threads = [threading.Thread(target=burst, args=(f"w{k}",)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        logs.configure_logging("INFO")
    assert len(recorder.writes) == 1200
    assert all(write.endswith("\n") and write.count("\n") == 1 for write in recorder.writes)
    assert {(line["writer"], line["n"]) for line in map(json.loads, recorder.writes)} == {
        (f"w{k}", n) for k in range(4) for n in range(300)
    }


def test_lines_go_to_stdout_as_it_is_when_written(capsys: pytest.CaptureFixture[str]) -> None:
    """With no stream given, a line goes to whatever ``sys.stdout`` is then (test harnesses and tools swap it)."""
    logs.configure_logging("INFO")
    logs.bound_logger("t").info("to_current_stdout")
    assert json.loads(capsys.readouterr().out)["event"] == "to_current_stdout"


def _logged(**values: object) -> str:
    import io

    stream = io.StringIO()
    logs.configure_logging("INFO", stream=stream)
    try:
        logs.bound_logger("t").info("x", **values)
    finally:
        logs.configure_logging("INFO")
    return stream.getvalue()


def test_a_secret_inside_a_value_rendered_by_str_is_masked() -> None:
    """A value that is not a string (an exception, say) is written as its ``str``: the line as written is what
    gets searched and masked."""
    text = _logged(error=RuntimeError(f"refused: Credential={KEY_ID}/x, Signature={SIGNATURE}"))
    assert SIGNATURE not in text and KEY_ID not in text
    assert json.loads(text)["error"].startswith("refused: Credential=ASIA[redacted]")


@pytest.mark.parametrize(
    "value",
    [
        f"\u017fignature={SIGNATURE}",  # the long s: the patterns match it as "s"
        f"\ud800 Signature={SIGNATURE}",  # a lone surrogate: orjson refuses the line, the standard library writes it
        f"\ud800 \u017fignature={SIGNATURE}",  # both: the standard library escapes the long s in the line
    ],
)
def test_secrets_are_masked_in_lines_with_non_ascii_text(value: str) -> None:
    text = _logged(detail=value)
    assert SIGNATURE not in text and "[redacted]" in json.loads(text)["detail"]


def test_a_line_with_keys_only_seen_before_and_none_values_is_written_without_them() -> None:
    first = json.loads(_logged(operation="createTodo", diagnosis=None))
    again = json.loads(_logged(operation="createTodo", diagnosis=None, password="hunter2"))
    assert "diagnosis" not in first and "diagnosis" not in again
    assert again["password"] == "[redacted]"


@pytest.mark.parametrize(
    "value",
    [
        f"first line\n{KEY_ID} on the next",  # a multi-line message or a traceback
        f"tab\t{LONG_TERM_KEY_ID}",
        f"control\x01{KEY_ID}",
        f"Signature:\n{SIGNATURE}",
        f"Credential=\n{KEY_ID}/20260101",
        f"X-Amz-Security-Token=\\{TOKEN}",  # after a backslash
    ],
)
def test_secrets_next_to_characters_that_json_escapes_are_masked(value: str) -> None:
    """The patterns are written for text as it was logged. On the JSON line a newline is ``\\n``: the key id
    after it follows a word character (no ``\\b``) and the separator holds no ``\\s``; a backslash is ``\\\\``.
    Masked as the text the value is, as the per-value scrub did."""
    text = _logged(detail=value)
    assert (
        SIGNATURE not in text and KEY_ID not in text and LONG_TERM_KEY_ID not in text and "IQoJ" not in text
    )
    assert "[redacted]" in json.loads(text)["detail"]


@pytest.mark.parametrize(
    "values",
    [
        {"detail": f"X-Amz-Security-Token:\n{TOKEN}"},  # the mask after the backslash of "\n"
        {"detail": f"X-Amz-Security-Token=\x01{TOKEN}"},
        {"detail": f"Signature=\x0c{SIGNATURE}"},  # a form feed, "\f": "f" is a hex digit
        {"headers": {"X-Amz-Security-Token": None}},  # "null}" taken for the token
        {"headers": ["X-Amz-Security-Token="]},  # the closing bracket taken for the token
        {"meta": {"Signature": 1234567890123456789}},  # a number masked out of its quotes
        {"headers": {"X-Amz-Security-Token": TOKEN, "x-amz-signature": SIGNATURE}},
    ],
)
def test_a_line_with_something_masked_is_still_one_json_object(values: dict[str, object]) -> None:
    """Masking must not break the line: a line that is not JSON is lost to every query over the logs."""
    text = _logged(**values)
    line = json.loads(text)
    assert isinstance(line, dict) and line["event"] == "x"
    assert "IQoJ" not in text and SIGNATURE not in text


def test_secrets_are_masked_in_every_value_of_a_line_the_standard_library_writes() -> None:
    """A line orjson refuses (a lone surrogate, a big integer) is written by the standard library, which escapes
    the long s; a secret in a value rendered by ``str`` or nested in a list or dict is masked there too."""
    secret = f"\u017fignature={SIGNATURE}"
    text = _logged(detail="\ud800", n=2**70, error=RuntimeError(secret), meta={"notes": [secret]})
    assert SIGNATURE not in text
    line = json.loads(text)
    assert line["n"] == 2**70 and "[redacted]" in line["error"] and "[redacted]" in line["meta"]["notes"][0]


def test_a_value_whose_comparison_raises_is_logged() -> None:
    """Dropping ``None`` values asks each value "is it None?" by identity only: ``None in values()`` calls every
    other value's ``__eq__``, which for some objects (an array, a query expression) raises, and the log call with
    it; the per-value code never compared."""

    class Incomparable:
        def __eq__(self, other: object) -> bool:
            raise ValueError("the truth value of this comparison is ambiguous")

        __hash__ = object.__hash__

        def __str__(self) -> str:
            return "incomparable"

    line = json.loads(_logged(value=Incomparable(), diagnosis=None))
    assert line["value"] == "incomparable" and "diagnosis" not in line


@pytest.mark.parametrize(
    "line",
    [
        f"S\u0131gnature={SIGNATURE}",  # dotless i
        f"S\u0130GNATURE={SIGNATURE}",  # capital I with a dot above
        f"X-Amz-Secur\u0131ty-Token: {TOKEN}",
    ],
)
def test_the_marker_search_folds_every_letter_the_patterns_match(line: str) -> None:
    """The patterns' ``(?i:...)`` match the dotless i and the dotted capital I as "i", and ``casefold()``
    keeps the one and turns the other into "i" and a combining dot: the marker search must not skip them."""
    assert logs.needs_scrubbing(line)
    assert SIGNATURE not in scrub(line) and TOKEN not in scrub(line)


def test_a_credentials_object_written_through_its_repr_keeps_its_secret_and_token() -> None:
    """Nothing in the worker logs one, by construction; if a change ever did (an f-string, an error's text), the
    secret and the session token stay out of the line, the key id is masked as everywhere."""
    from botocore.credentials import ReadOnlyCredentials

    from worker.credentials import CredentialSet

    secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLE+session/token=="
    frozen = ReadOnlyCredentials(KEY_ID, secret, token)
    held = CredentialSet(frozen, 0.0, 3600.0, 1, None)
    text = _logged(detail=f"signing with {frozen!r}", error=RuntimeError(f"set {held}"), nested={"c": [held]})
    for value in (secret, token, KEY_ID):
        assert value not in text
    line = json.loads(text)
    assert "secret_key='[redacted]'" in line["detail"] and "token='[redacted]'" in line["error"]


def test_a_secret_named_key_with_no_value_is_left_out_not_redacted() -> None:
    line = json.loads(_logged(session_token=None, operation="createTodo"))
    assert "session_token" not in line and line["operation"] == "createTodo"
