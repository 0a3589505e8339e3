"""Builds the Strawberry schema with the protections the settings ask for."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from schema.extensions import RequestShaping
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from settings import Settings


def _ignore_introspection(context: Any) -> bool:
    # GraphiQL's introspection query is deep by nature; advisors explore with it.
    return str(context.field_name).startswith("__")


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # The limiters' rule classes are built once: the validation cache is keyed on the rules, and
    # a limiter instance per request would build new classes and never hit the cache.
    rules = [
        *QueryDepthLimiter(
            max_depth=settings.max_query_depth, should_ignore=_ignore_introspection
        ).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_query_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Factories, so each request gets fresh extension instances. Clients send the same
            # few documents again and again: parsing and validating each once saves most of
            # Strawberry's per-request CPU. Both caches are bounded LRUs.
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            lambda: ParserCache(maxsize=512),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=512),
            RequestShaping,
        ],
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
    )
