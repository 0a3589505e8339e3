"""Who a user is to the service, and what each role may see."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STUDENT = "student"
    ADVISOR = "advisor"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.ADVISOR, Role.ADMIN})
