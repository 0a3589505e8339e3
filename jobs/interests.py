"""Interests a student stated (at registration or with updateMe) as evidence beside the
PROFILE self-ratings of the assessment: each stated area counts as one more answer at the top
of the 1..5 scale. An area the student both stated and rated gets the mean of the two, so a
low self-rating still tells; an area only stated shows in the result as a HIGH interest and
steers retrieval and ranking like one (domain/retrieval.py, domain/recommend.py)."""

from __future__ import annotations

import uuid
from typing import Any

from db.tables import User
from jobs.services import Services

SCALE_MIN, SCALE_MAX = 1, 5


async def stated_interests(services: Services, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """In the shape of rule_score's PROFILE answers ({area, value, min, max})."""
    async with services.db.read() as session:
        user = await session.get(User, user_id)
    tags = user.interests_json if user is not None else []
    return [{"area": tag, "value": SCALE_MAX, "min": SCALE_MIN, "max": SCALE_MAX} for tag in tags]
