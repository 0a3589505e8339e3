"""Schema extensions: error shaping (codes, masking of unexpected failures) and request notes
for the log line and metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import AccessDenied, DomainError, ErrorCode

log = logging.getLogger("graphql")

# graphql-core appends ` Did you mean 'a', 'b', or 'c'?` (or `... the enum value 'X'?`, `... to
# use an inline fragment on 'T'?`) to validation and coercion messages; the suggested names are
# GraphQL names, which hold no `?`. Strawberry's disable_field_suggestions only strips the
# "Cannot query field" kind, so production strips every kind here, where all errors pass.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def strip_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message).rstrip()


def shape_error(
    error: GraphQLError, request_id: str | None, hide_suggestions: bool = False
) -> GraphQLError:
    """Give every error an extensions.code; hide anything unexpected behind INTERNAL; in
    production, drop graphql-core's suggestions (they map the schema for a prober)."""
    if hide_suggestions and "Did you mean" in error.message:
        return shape_error(_with(error, strip_suggestions(error.message), error.extensions or {}),
                           request_id)  # fmt: skip
    original = error.original_error
    if isinstance(original, AccessDenied):
        return _with(error, error.message, {"code": original.code.value})
    if isinstance(original, DomainError):
        problem = original.problems[0]
        extensions: dict[str, Any] = {"code": problem.code.value, **problem.extra}
        if problem.field:
            extensions["field"] = list(problem.field)
        return _with(error, str(original), extensions)
    if original is None or isinstance(original, GraphQLError) or not error.path:
        # Syntax, validation, variable coercion, query limits: the document is at fault.
        code = (error.extensions or {}).get("code") or ErrorCode.VALIDATION_ERROR.value
        return _with(error, error.message, {**(error.extensions or {}), "code": code})
    # Anything else is a bug or an outage: log the stack, tell the client only the request id.
    log.error(
        "unexpected error in %s",
        ".".join(str(p) for p in error.path),
        exc_info=(type(original), original, original.__traceback__),
    )
    return _with(
        error,
        "Internal server error.",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
        drop_original=True,
    )


def _with(
    error: GraphQLError, message: str, extensions: dict[str, Any], drop_original: bool = False
) -> GraphQLError:
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None if drop_original else error.original_error,
        extensions=extensions,
    )


def outcome_of(errors: list[GraphQLError]) -> str:
    codes = {(e.extensions or {}).get("code") for e in errors}
    if ErrorCode.INTERNAL.value in codes:
        return "internal"
    if codes & {ErrorCode.UNAUTHENTICATED.value, ErrorCode.FORBIDDEN.value}:
        return "denied"
    if ErrorCode.VALIDATION_ERROR.value in codes:
        return "invalid"
    return "error"


class RequestShaping(SchemaExtension):
    """Shapes errors and records the operation's name and outcome on the request context."""

    def __init__(
        self, *, hide_suggestions: bool = False, execution_context: Any | None = None
    ) -> None:
        super().__init__(execution_context=execution_context)
        self.hide_suggestions = hide_suggestions

    def _context(self) -> Any:
        return self.execution_context.context

    def _shape(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        context = self._context()
        request_id = getattr(context, "request_id", None)
        if errors:
            shaped = [shape_error(e, request_id, self.hide_suggestions) for e in errors]
            result.errors = shaped
            if hasattr(context, "notes"):
                context.notes["outcome"] = outcome_of(shaped)

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self._context()
        if not getattr(context, "release_reads", True):
            # An HTTP request's read session ends with its operation.
            await context.close()
        if hasattr(context, "notes"):
            context.notes["operation"] = self.execution_context.operation_name or _root_fields(
                self.execution_context
            )
        result = self.execution_context.result
        if result is not None:
            self._shape(result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._shape(result)
        yield None

    def get_results(self) -> dict[str, Any]:
        # Errors raised before execution (a syntax error found by the parser cache, for one)
        # reach the result after on_operation has finished; Strawberry hands this hook the very
        # list the response will carry, so shape it in place.
        early = self.execution_context.pre_execution_errors
        if early:
            request_id = getattr(self._context(), "request_id", None)
            early[:] = [shape_error(e, request_id, self.hide_suggestions) for e in early]
            if hasattr(self._context(), "notes"):
                self._context().notes["outcome"] = outcome_of(list(early))
        context = self._context()
        notes = getattr(context, "notes", {})
        if "retry_after" in notes:
            return {"retryAfterSeconds": notes["retry_after"]}
        return {}


def _root_fields(execution_context: Any) -> str:
    """Name an anonymous operation by its root fields, e.g. `query:me,health`."""
    document = execution_context.graphql_document
    if document is None:
        return "invalid"
    for definition in document.definitions:
        selection_set = getattr(definition, "selection_set", None)
        operation = getattr(definition, "operation", None)
        if selection_set is not None and operation is not None:
            names = sorted(
                {str(s.name.value) for s in selection_set.selections if getattr(s, "name", None)}
            )
            return f"{operation.value}:{','.join(names[:4])}"
    return "unknown"
