from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from db.pagination import Page
from schema.errors import UserError

C = TypeVar("C")


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class OkPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


def connection(
    connection_type: type[C], edge_type: type, page: Page[Any], to_node: Callable[[Any], Any]
) -> C:
    """A Relay connection from a page of rows."""
    return connection_type(
        edges=[  # type: ignore[call-arg]
            edge_type(node=to_node(item), cursor=cursor)
            for item, cursor in zip(page.items, page.cursors, strict=True)
        ],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        total_count=page.total_count,
    )
