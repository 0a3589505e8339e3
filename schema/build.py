"""Builds the Strawberry schema with the protections the settings ask for."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from schema.extensions import RequestShaping
from schema.mutation import Mutation
from schema.query import Query
from settings import Settings


def _ignore_introspection(context: Any) -> bool:
    # GraphiQL's introspection query is deep by nature; advisors explore with it.
    return str(context.field_name).startswith("__")


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            # Factories, so each request gets fresh extension instances.
            lambda: QueryDepthLimiter(
                max_depth=settings.max_query_depth, should_ignore=_ignore_introspection
            ),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_query_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            RequestShaping,
        ],
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
    )
