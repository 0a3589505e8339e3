"""How many questions of each type an assessment has, and how long it stays open."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import Problems

COUNT_MIN, COUNT_MAX = 0, 20
TOTAL_MIN, TOTAL_MAX = 1, 40
DEFAULT_EXPIRES_IN_HOURS = 168
EXPIRES_MIN_HOURS, EXPIRES_MAX_HOURS = 1, 24 * 90


@dataclass(frozen=True)
class Composition:
    theoretical: int = 3
    essay: int = 3
    profile: int = 4

    @property
    def total(self) -> int:
        return self.theoretical + self.essay + self.profile

    def as_dict(self) -> dict[str, int]:
        return {"theoretical": self.theoretical, "essay": self.essay, "profile": self.profile}

    @classmethod
    def from_dict(cls, raw: dict[str, int]) -> Composition:
        return cls(int(raw["theoretical"]), int(raw["essay"]), int(raw["profile"]))


DEFAULT_COMPOSITION = Composition()


def check_composition(composition: Composition, problems: Problems, *path: str) -> None:
    for name, value in composition.as_dict().items():
        if not COUNT_MIN <= value <= COUNT_MAX:
            problems.invalid(f"{name} must be {COUNT_MIN}..{COUNT_MAX}.", *path, name)
    if not problems and not TOTAL_MIN <= composition.total <= TOTAL_MAX:
        problems.invalid(f"An assessment has {TOTAL_MIN}..{TOTAL_MAX} questions in total.", *path)


def check_expiry_hours(hours: int, problems: Problems, *path: str) -> None:
    if not EXPIRES_MIN_HOURS <= hours <= EXPIRES_MAX_HOURS:
        problems.invalid(f"expiresInHours must be {EXPIRES_MIN_HOURS}..{EXPIRES_MAX_HOURS}.", *path)
