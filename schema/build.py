"""Builds the Strawberry schema with the protections the settings ask for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from schema.extensions import RequestShaping
from schema.limits import DocumentShapeLimiter, GuardedValidationCache
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from settings import Settings


def _ignore_introspection(context: Any) -> bool:
    # GraphiQL's introspection query is deep by nature; advisors explore with it.
    return str(context.field_name).startswith("__")


class _Schema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # Only plain HTTP comes through here (websockets use subscribe(), and no streaming HTTP
        # transport is enabled): a subscription would run its generator as an ordinary field
        # and fail as INTERNAL. Refused instead, which the view answers with a 400.
        allowed = set(allowed_operation_types or OperationType) - {OperationType.SUBSCRIPTION}
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed,
            operation_extensions,
        )


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
    # Checked before the rules, whose cost they bound (schema/limits.py). Twice what the token
    # limit lets a client write out leaves room for fragments reused honestly (GraphiQL's
    # introspection query spreads out to about 470 selections); no client asks for one field
    # twenty times in one place (Relay-style fragments repeat `id` a few times).
    shape = {"max_selections": 2 * settings.max_query_tokens, "max_repeats": 20}
    return _Schema(
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
            lambda: DocumentShapeLimiter(**shape),
            lambda: GuardedValidationCache(maxsize=512),
            lambda: RequestShaping(hide_suggestions=settings.is_production),
        ],
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
    )
