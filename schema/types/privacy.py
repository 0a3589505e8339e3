from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from schema.errors import UserError


@strawberry.type
class DataExportPayload:
    data: JSON | None = strawberry.field(
        default=None,
        description="Everything stored about the user (profile, assessments, responses, "
        "scores, recommendations, feedback).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, document: dict[str, Any]) -> DataExportPayload:
        return cls(data=JSON(document))
