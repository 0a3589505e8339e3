"""bcrypt hashing. CPU-bound (about 280 ms at cost 12 on two cores) and releasing the GIL, so
callers run these in a thread; they are synchronous on purpose."""

from __future__ import annotations

import bcrypt


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8")
    if len(data) > 72:  # bcrypt 5 raises above 72 bytes; such a password was never accepted
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:
        return False


def dummy_hash(rounds: int) -> str:
    """A hash to check against when the email is unknown, so that a login for an account that
    does not exist costs the same time as a wrong password."""
    return hash_password("not-a-real-password-0000", rounds)
