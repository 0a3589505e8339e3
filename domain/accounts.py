"""Rules for accounts: email, password, name, interests, and which role an invite code grants."""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email

from domain.errors import Problems
from domain.roles import Role

PASSWORD_MIN_BYTES = 8
# bcrypt only looks at the first 72 bytes (bcrypt 5 refuses longer input): a longer password
# would silently be a weaker one, so it is refused rather than truncated.
PASSWORD_MAX_BYTES = 72
NAME_MAX_CHARS = 120
EMAIL_MAX_CHARS = 254
INTEREST_MAX_CHARS = 40
INTERESTS_MAX = 20


def normalize_email(raw: str) -> str:
    """Case-insensitive identity: trimmed and lower-cased (the whole address, as most IdPs do)."""
    return raw.strip().lower()


def check_email(raw: str, problems: Problems, *field: str) -> str:
    email = normalize_email(raw)
    if not email or len(email) > EMAIL_MAX_CHARS:
        problems.invalid("Enter a valid email address.", *field)
        return email
    try:
        # Syntax only: the service must not make DNS queries on behalf of anonymous callers.
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        problems.invalid("Enter a valid email address.", *field)
    return email


def check_password(password: str, problems: Problems, *field: str) -> None:
    size = len(password.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        problems.invalid(f"Password must be at least {PASSWORD_MIN_BYTES} characters.", *field)
    elif size > PASSWORD_MAX_BYTES:
        problems.invalid(
            f"Password must be at most {PASSWORD_MAX_BYTES} bytes (UTF-8); use a shorter one.",
            *field,
        )


def clean_name(raw: str | None, problems: Problems, *field: str) -> str | None:
    if raw is None:
        return None
    name = _strip_control(raw).strip()
    if len(name) > NAME_MAX_CHARS:
        problems.invalid(f"Name must be at most {NAME_MAX_CHARS} characters.", *field)
    return name or None


def clean_interests(raw: Sequence[str] | None, problems: Problems, *field: str) -> list[str]:
    """Lower-cased, de-duplicated interest tags in the order given."""
    if raw is None:
        return []
    if len(raw) > INTERESTS_MAX:
        problems.invalid(f"At most {INTERESTS_MAX} interests.", *field)
        return []
    seen: list[str] = []
    for index, item in enumerate(raw):
        tag = _strip_control(item).strip().lower()
        if not tag or len(tag) > INTEREST_MAX_CHARS:
            problems.invalid(
                f"Each interest must be 1..{INTEREST_MAX_CHARS} characters.", *field, str(index)
            )
        elif tag not in seen:
            seen.append(tag)
    return seen


def role_for_invite(
    code: str | None,
    admin_code: str | None,
    advisor_code: str | None,
    problems: Problems,
    *field: str,
) -> Role:
    """No code: STUDENT. A matching code grants its role. Any other code is an error, never a
    silent student account (the person meant to be staff and should know it did not work)."""
    if code is None or not code.strip():
        return Role.STUDENT
    given = code.strip().encode()
    # Constant-time comparisons: invite codes are secrets.
    if admin_code and hmac.compare_digest(given, admin_code.encode()):
        return Role.ADMIN
    if advisor_code and hmac.compare_digest(given, advisor_code.encode()):
        return Role.ADVISOR
    problems.invalid("This invite code is not valid.", *field)
    return Role.STUDENT


def _strip_control(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
