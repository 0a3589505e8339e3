from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain import ids
from domain.errors import AccessDenied, ErrorCode
from domain.roles import Role
from domain.tokens import hash_refresh_token, issue_access_token, read_access_token

KEY = "k" * 40


def test_public_ids_round_trip_and_check_their_kind() -> None:
    key = ids.new_uuid()
    public = ids.encode(ids.Kind.ASSESSMENT, key)
    assert public.startswith("asmt_")
    assert len(public) == len("asmt_") + 26
    assert ids.decode(ids.Kind.ASSESSMENT, public) == key
    assert ids.decode(ids.Kind.USER, public) is None
    assert ids.decode(ids.Kind.ASSESSMENT, public.lower()) == key
    assert ids.kind_of(public) is ids.Kind.ASSESSMENT
    for bad in ("", "asmt_", "asmt_!!", "asmt_" + "Z" * 26, "xyz_123", public + "0"):
        assert ids.decode(ids.Kind.ASSESSMENT, bad) is None


def test_uuid7_keys_are_time_ordered_and_versioned() -> None:
    keys = [ids.new_uuid() for _ in range(50)]
    assert all(k.version == 7 for k in keys)
    stamps = [k.int >> 80 for k in keys]
    assert stamps == sorted(stamps)


def test_keys_made_within_one_millisecond_still_sort_in_creation_order() -> None:
    """Review queues and every keyset page read 'oldest first' off the id: keys minted in a
    burst (many per millisecond) must keep the order they were made in, and stay valid v7."""
    keys = [ids.new_uuid() for _ in range(5000)]
    assert len({k.int >> 80 for k in keys}) < len(keys)  # the burst shared milliseconds
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert all(k.version == 7 and k.variant == uuid.RFC_4122 for k in keys)


def _issue(now: datetime, ttl: timedelta = timedelta(minutes=15)) -> tuple[uuid.UUID, str]:
    user_id = uuid.uuid4()
    token = issue_access_token(
        user_id=user_id, role=Role.ADVISOR, key=KEY, issuer="i", audience="a", now=now, ttl=ttl
    )
    return user_id, token


def test_access_token_round_trip() -> None:
    now = datetime.now(UTC)
    user_id, token = _issue(now)
    claims = read_access_token(token, key=KEY, issuer="i", audience="a", now=now)
    assert claims.user_id == user_id
    assert claims.role is Role.ADVISOR


@pytest.mark.parametrize(
    ("key", "issuer", "audience"),
    [("x" * 40, "i", "a"), (KEY, "other", "a"), (KEY, "i", "other")],
)
def test_access_token_refused_on_key_issuer_or_audience(
    key: str, issuer: str, audience: str
) -> None:
    now = datetime.now(UTC)
    _, token = _issue(now)
    with pytest.raises(AccessDenied) as caught:
        read_access_token(token, key=key, issuer=issuer, audience=audience, now=now)
    assert caught.value.code is ErrorCode.UNAUTHENTICATED


def test_expired_access_token_says_so() -> None:
    _, token = _issue(datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(AccessDenied, match="expired"):
        read_access_token(token, key=KEY, issuer="i", audience="a", now=datetime.now(UTC))


def test_refresh_tokens_are_stored_as_sha256() -> None:
    assert len(hash_refresh_token("abc")) == 64
    assert hash_refresh_token("abc") != hash_refresh_token("abd")
