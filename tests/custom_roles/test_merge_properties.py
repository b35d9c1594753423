"""Property: any existing file either merges losslessly or is refused with its bytes untouched.

Lossless: every pre-existing entry stays, in order (except the worker role's own IAM role ARN, which never
matches, and its role-only entry, a stale entry of ours: both are replaced in place), the worker's entry is
present exactly once, and a second run changes nothing. A file that would admit every IAM caller is refused. The number of examples that ran is printed and asserted (see the report with ``-s``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amplify_custom_roles import CustomRolesError, generate

EXAMPLES = 400
_NAME = st.text(alphabet="AbcZ019_+=,.@-", min_size=1, max_size=12)
_SESSION = st.text(alphabet="abcZ019_+=,.@-", min_size=2, max_size=12)
_ACCOUNT = st.sampled_from(["222222222222", "333333333333", "2222", "22222222222x"])


def _entries(kit: Any) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(kit.ours),
        st.just(kit.iam_role),
        st.just(kit.role_only),
        st.just(""),
        _NAME,
        st.builds(lambda r, s: f"{r}/{s}", _NAME, _SESSION),
        st.builds(lambda r: f"{r}-${{env}}", _NAME),
        st.builds(lambda a, r, s: f"arn:aws:sts::{a}:assumed-role/{r}/{s}", _ACCOUNT, _NAME, _SESSION),
        st.builds(lambda a, r: f"arn:aws:iam::{a}:role/{r}", _ACCOUNT, _NAME),
        st.text(max_size=10),  # anything at all, including characters AWS rejects
    )


def _documents(kit: Any) -> st.SearchStrategy[str]:
    entries = _entries(kit)
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=5,
    )
    well_formed = st.builds(
        lambda names, indent: json.dumps({"adminRoleNames": names}, indent=indent),
        st.lists(entries, max_size=6) | entries,
        st.sampled_from([None, 2, 4]),
    )
    odd = st.builds(
        lambda doc: json.dumps(doc),
        st.dictionaries(
            st.sampled_from(["adminRoleNames", "other"]), json_values | st.lists(entries), max_size=2
        ),
    )
    return st.one_of(well_formed, odd, st.text(max_size=30))


def _expected(kit: Any, original: list[str]) -> list[str]:
    merged: list[str] = []
    for entry in original:
        if entry in (kit.ours, kit.iam_role, kit.role_only):
            if kit.ours not in merged:
                merged.append(kit.ours)
        else:
            merged.append(entry)
    return merged if kit.ours in merged else [*merged, kit.ours]


def test_merge_is_lossless_or_refused_untouched(kit: Any) -> None:
    outcomes = {"merged": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text=_documents(kit))
    def prop(text: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            roles_settings = kit.settings_in(Path(tmp))
            path = roles_settings.custom_roles_path
            path.write_text(text, encoding="utf-8")
            before = path.read_bytes()
            try:
                generate(roles_settings)
            except CustomRolesError:
                assert path.read_bytes() == before
                assert [p.name for p in path.parent.iterdir()] == [path.name]
                outcomes["refused"] += 1
                return
            names = json.loads(text).get("adminRoleNames", [])
            original = [names] if isinstance(names, str) else names
            after = json.loads(path.read_text(encoding="utf-8"))["adminRoleNames"]
            after_list = [after] if isinstance(after, str) else after
            assert after_list == _expected(kit, original)
            assert after_list.count(kit.ours) == 1
            written = path.read_bytes()
            again = generate(roles_settings)
            assert not again.written and path.read_bytes() == written
            outcomes["merged"] += 1

    prop()
    total = outcomes["merged"] + outcomes["refused"]
    print(f"\nmerge property: {total} examples ({outcomes['merged']} merged, {outcomes['refused']} refused)")
    assert total >= EXAMPLES // 2 and outcomes["merged"] >= 50 and outcomes["refused"] >= 50


@pytest.mark.parametrize("as_string", [True, False])
def test_a_refused_file_is_byte_for_byte_untouched_even_with_odd_bytes(kit: Any, as_string: bool) -> None:
    raw = b'\xef\xbb\xbf{"adminRoleNames": ' + (b'"x",' if as_string else b"[1],") + b' "k": 1}\r\n'
    kit.path.write_bytes(raw)
    with pytest.raises(CustomRolesError):
        generate(kit.settings)
    assert kit.path.read_bytes() == raw
