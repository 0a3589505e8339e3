from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AssessmentForm
from db.types import utcnow
from domain.composition import DEFAULT_COMPOSITION, DEFAULT_EXPIRES_IN_HOURS, Composition


async def get(session: AsyncSession, name: str) -> AssessmentForm | None:
    return await session.get(AssessmentForm, name)


async def get_or_default(session: AsyncSession, name: str = "default") -> AssessmentForm:
    """The stored form, or (for "default" before anyone set it) the built-in default."""
    form = await get(session, name)
    if form is None:
        form = AssessmentForm(
            name=name,
            composition_json=DEFAULT_COMPOSITION.as_dict(),
            expires_in_hours=DEFAULT_EXPIRES_IN_HOURS,
        )
    return form


async def published_names(session: AsyncSession) -> list[str]:
    """The forms a student may start from: every stored form, and "default" (built in)."""
    names = set(await session.scalars(sa.select(col(AssessmentForm.name))))
    return sorted(names | {"default"})


async def upsert(
    session: AsyncSession,
    name: str,
    composition: Composition,
    expires_in_hours: int,
    retake_cooldown_hours: int | None = None,
) -> tuple[AssessmentForm, bool]:
    """The form and whether it changed."""
    form = await get(session, name)
    if form is None:
        form = AssessmentForm(
            name=name,
            composition_json=composition.as_dict(),
            expires_in_hours=expires_in_hours,
            retake_cooldown_hours=retake_cooldown_hours,
        )
        session.add(form)
        await session.flush()
        return form, True
    changed = (
        form.composition_json != composition.as_dict()
        or form.expires_in_hours != expires_in_hours
        or form.retake_cooldown_hours != retake_cooldown_hours
    )
    if changed:
        form.composition_json = composition.as_dict()
        form.expires_in_hours = expires_in_hours
        form.retake_cooldown_hours = retake_cooldown_hours
        form.updated_at = utcnow()
        await session.flush()
    return form, changed
