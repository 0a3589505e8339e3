"""Query limits Strawberry lacks, checked in linear time before any validation rule runs.

- How far fragment spreads multiply a document. Strawberry's QueryDepthLimiter and
  MaxAliasesLimiter walk every spread anew: a few hundred bytes of fragments that each spread
  the previous one twice (`fragment F2 on Query { ...F1 ...F1 }`, forty levels deep) make them
  visit 2^40 selections, and one request holds the event loop (so the whole process) for hours.
- How often one response key repeats in a selection set (fragments spread into it included).
  graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of same-named fields:
  `{ health { api } health { api } ... }` seven hundred times is 10 KB and a second of CPU.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension, ValidationCache

from domain.errors import ErrorCode


class _Shape:
    """Both measures over one document, each fragment looked at once."""

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._sizes: dict[str, int] = {}
        self._keys: dict[str, Counter[str]] = {}

    def expanded_selections(self) -> int:
        """Field selections with every fragment spread written out in place."""
        return sum(
            self._size(d.selection_set)
            for d in self.document.definitions
            if isinstance(d, ExecutableDefinitionNode)
        )

    def most_repeated_key(self) -> tuple[str, int]:
        """The response key repeated most often in one selection set, and how often."""
        worst = ("", 0)
        stack = [
            d.selection_set
            for d in self.document.definitions
            if isinstance(d, ExecutableDefinitionNode)
        ]
        while stack:
            selection_set = stack.pop()
            keys = self._flat_keys(selection_set)
            if keys:
                key, count = keys.most_common(1)[0]
                if count > worst[1]:
                    worst = (key, count)
            stack.extend(
                selection.selection_set
                for selection in selection_set.selections
                if isinstance(selection, (FieldNode, InlineFragmentNode))
                and selection.selection_set is not None
            )
        return worst

    def _size(self, selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + self._size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self._size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self._sizes:
                    self._sizes[name] = 0  # a cycle adds nothing; NoFragmentCyclesRule reports it
                    fragment = self.fragments.get(name)
                    self._sizes[name] = self._size(fragment.selection_set) if fragment else 0
                total += self._sizes[name]
        return total

    def _flat_keys(self, selection_set: SelectionSetNode) -> Counter[str]:
        """Response keys of the set's fields, inline fragments and spread fragments merged, as
        graphql-core collects them for the overlap check."""
        keys: Counter[str] = Counter()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                keys[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                keys.update(self._flat_keys(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in self._keys:
                    self._keys[name] = Counter()  # cycle: see _size
                    fragment = self.fragments.get(name)
                    if fragment is not None:
                        self._keys[name] = self._flat_keys(fragment.selection_set)
                keys.update(self._keys[name])
        return keys


def expanded_selections(document: DocumentNode) -> int:
    return _Shape(document).expanded_selections()


class DocumentShapeLimiter(SchemaExtension):
    """Refuses (VALIDATION_ERROR) a document that spreads out to more than `max_selections`
    field selections, or repeats one response key more than `max_repeats` times in a selection
    set. Must come before the validation cache, which runs the other rules."""

    def __init__(self, max_selections: int, max_repeats: int) -> None:
        super().__init__()
        self.max_selections = max_selections
        self.max_repeats = max_repeats

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            problem = self._problem(document)
            if problem:
                context.pre_execution_errors = [
                    GraphQLError(problem, extensions={"code": ErrorCode.VALIDATION_ERROR.value})
                ]
        yield

    def _problem(self, document: DocumentNode) -> str | None:
        shape = _Shape(document)
        try:
            size = shape.expanded_selections()
            if size > self.max_selections:
                return (
                    f"The document spreads out to more than {self.max_selections} field "
                    "selections (a fragment counts each time it is spread)."
                )
            key, repeats = shape.most_repeated_key()
        except RecursionError:  # selection sets nested past the interpreter's limit
            return "The document is nested too deeply."
        if repeats > self.max_repeats:
            return (
                f"'{key}' is selected {repeats} times in one selection set; at most "
                f"{self.max_repeats} are allowed."
            )
        return None


class GuardedValidationCache(ValidationCache):
    """Strawberry's ValidationCache validates unconditionally; it is skipped here when a limit
    before it has already refused the document (otherwise the refusal would be overwritten and
    the expensive rules would run anyway)."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()
