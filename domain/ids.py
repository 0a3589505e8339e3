"""Public identifiers: opaque strings with a type prefix over UUIDv7 keys.

Rows keep plain UUID primary keys. The API shows `<prefix>_<26 Crockford base32 chars>`, which
sorts like the UUID (v7 is time-ordered, so ids sort by creation) and tells a reader at a glance
what kind of thing an id names. A client can never turn one kind of id into another by accident:
decoding checks the prefix.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from enum import StrEnum

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_DECODE.update({c.lower(): i for c, i in list(_DECODE.items())})
_ENCODED_LEN = 26  # ceil(128 / 5)


class Kind(StrEnum):
    USER = "usr"
    ASSESSMENT = "asmt"
    ASSESSMENT_QUESTION = "aq"
    QUESTION = "q"
    CREDENTIAL = "cred"
    RECOMMENDATION = "rec"
    RECOMMENDATION_ITEM = "reci"
    JOB = "job"
    WEBHOOK = "whk"
    AUDIT_EVENT = "aud"
    ESSAY_SCORE = "esc"
    ESSAY_OVERRIDE = "esco"


_RAND_B_BITS = 62
_last_key = (0, 0)  # (60-bit time: milliseconds and their fraction, 62 random bits)
_key_lock = threading.Lock()


def new_uuid() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, 12 bits of sub-millisecond time
    (section 6.2, method 3), then 62 random bits.

    Time-ordered keys keep B-tree inserts local and make keyset pagination by id follow creation
    order. Milliseconds alone are not enough for that: rows made within one millisecond (the
    essays of one assessment, scored in one step) would sort at random, so the fraction of the
    millisecond is kept too, and within this process a key is never smaller than the one before
    (when the clock has not moved on, the previous key plus one).
    """
    global _last_key
    millis, within = divmod(time.time_ns(), 1_000_000)
    clock = (millis & ((1 << 48) - 1)) << 12 | within * 4096 // 1_000_000
    random_bits = int.from_bytes(os.urandom(8), "big") & ((1 << _RAND_B_BITS) - 1)
    with _key_lock:
        if (clock, random_bits) <= _last_key:
            clock, random_bits = _last_key[0], _last_key[1] + 1
            if random_bits >> _RAND_B_BITS:
                clock, random_bits = clock + 1, 0
        _last_key = (clock, random_bits)
    value = (clock >> 12) << 80
    value |= 0x7 << 76  # version 7
    value |= (clock & 0xFFF) << 64  # rand_a: the fraction of the millisecond
    value |= 0b10 << 62  # RFC 4122 variant
    value |= random_bits
    return uuid.UUID(int=value)


def encode(kind: Kind, key: uuid.UUID) -> str:
    number = key.int
    chars = []
    for _ in range(_ENCODED_LEN):
        chars.append(_ALPHABET[number & 31])
        number >>= 5
    return f"{kind.value}_{''.join(reversed(chars))}"


def decode(kind: Kind, public_id: str) -> uuid.UUID | None:
    """The UUID behind a public id of this kind, or None when it is not one."""
    prefix, sep, body = public_id.partition("_")
    if not sep or prefix != kind.value or len(body) != _ENCODED_LEN:
        return None
    number = 0
    for char in body:
        digit = _DECODE.get(char)
        if digit is None:
            return None
        number = (number << 5) | digit
    if number >> 128:
        return None
    return uuid.UUID(int=number)


def kind_of(public_id: str) -> Kind | None:
    prefix = public_id.partition("_")[0]
    try:
        return Kind(prefix)
    except ValueError:
        return None
