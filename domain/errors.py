"""Errors a caller can understand: a stable code, a message and the path of the offending input.

Resolvers turn DomainError into the payload's `errors: [UserError!]!`; AccessDenied becomes a
GraphQL error with extensions.code UNAUTHENTICATED or FORBIDDEN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"
    EXPIRED = "EXPIRED"
    INCOMPLETE = "INCOMPLETE"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    INTERNAL = "INTERNAL"


@dataclass(frozen=True)
class Problem:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None
    # Machine-readable details (e.g. retryAfterSeconds); shown to clients, so never secrets.
    extra: dict[str, object] = dataclasses.field(default_factory=dict)


class DomainError(Exception):
    """One or more problems the caller can fix. Nothing was (or may be) saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("a DomainError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(
        cls,
        code: ErrorCode,
        message: str,
        field: Iterable[str] | None = None,
        **extra: object,
    ) -> DomainError:
        return cls([Problem(code, message, tuple(field) if field is not None else None, extra)])


def validation(message: str, *field: str) -> DomainError:
    return DomainError.one(ErrorCode.VALIDATION_ERROR, message, field or None)


def not_found(what: str, *field: str) -> DomainError:
    return DomainError.one(ErrorCode.NOT_FOUND, f"{what} not found", field or None)


class AccessDenied(Exception):
    """The caller is not signed in (UNAUTHENTICATED) or may not do this (FORBIDDEN)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        assert code in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN)
        self.code = code
        super().__init__(message)

    @classmethod
    def unauthenticated(cls, message: str = "Sign in first.") -> AccessDenied:
        return cls(ErrorCode.UNAUTHENTICATED, message)

    @classmethod
    def forbidden(cls, message: str = "You are not allowed to do this.") -> AccessDenied:
        return cls(ErrorCode.FORBIDDEN, message)


class Problems:
    """Collects problems over a whole input, so a client sees every mistake at once."""

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def add(self, code: ErrorCode, message: str, *field: str) -> None:
        self._items.append(Problem(code, message, tuple(field) if field else None))

    def invalid(self, message: str, *field: str) -> None:
        self.add(ErrorCode.VALIDATION_ERROR, message, *field)

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise DomainError(self._items)
