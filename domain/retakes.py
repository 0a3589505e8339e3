"""Retake rules: how long a student waits before another attempt at the same track and form.

Which attempts count (the choice, documented in the README's "Retake rules"):
- every attempt the student *started* at that track and form, submitted or not: the questions
  were shown, so an abandoned attempt counts like a finished one; while a draft is still open,
  starting again resumes it instead (no new attempt, no cooldown);
- the cooldown runs from the attempt's start, the moment its questions were shown;
- not an admin's custom try-out (it is not a measurement), nor an attempt the service failed
  to score (FAILED: the student got no result through no fault of theirs).

The cooldown is the form's own `retake_cooldown_hours`, or the RETAKE_COOLDOWN_HOURS setting
when the form has none; 0 turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import DomainError, ErrorCode

COOLDOWN_MIN_HOURS, COOLDOWN_MAX_HOURS = 0, 24 * 365


@dataclass(frozen=True)
class RetakePolicy:
    cooldown_hours: int

    @classmethod
    def of(cls, form_hours: int | None, default_hours: int) -> RetakePolicy:
        return cls(default_hours if form_hours is None else form_hours)

    def opens_at(self, last_started: datetime | None) -> datetime | None:
        """When the next attempt may start; None when nothing holds it back."""
        if last_started is None or self.cooldown_hours == 0:
            return None
        return last_started + timedelta(hours=self.cooldown_hours)

    def check(self, last_started: datetime | None, now: datetime, *field: str) -> None:
        """Raises RATE_LIMITED, saying when the next attempt opens, during the cooldown."""
        opens = self.opens_at(last_started)
        if opens is None or now >= opens:
            return
        wait = max(1, int((opens - now).total_seconds() + 0.999))
        at = opens.isoformat(timespec="seconds").replace("+00:00", "Z")
        raise DomainError.one(
            ErrorCode.RATE_LIMITED,
            f"You can retake this assessment from {at} ({self.cooldown_hours} h after your "
            "last attempt started).",
            field or None,
            retryAfterSeconds=wait,
            retryAt=opens,
        )


def check_cooldown_hours(hours: int) -> str | None:
    """A problem with a form's cooldown, or None."""
    if not COOLDOWN_MIN_HOURS <= hours <= COOLDOWN_MAX_HOURS:
        return f"retakeCooldownHours must be {COOLDOWN_MIN_HOURS}..{COOLDOWN_MAX_HOURS}."
    return None
