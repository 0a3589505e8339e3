from __future__ import annotations

import strawberry


@strawberry.type
class Health:
    api: str
    db: str
    redis: str
    chroma: str
