"""How much work a GraphQL document asks for, measured in one linear pass before anything
else walks it.

Each fragment is measured once, in dependency order, and a spread adds its fragment's size:
twenty fragments that each spread the next one twice are seen as a million fields without
ever being expanded. Sizes saturate at a cap, so the arithmetic stays small too. Nothing here
recurses deeper than `MAX_NESTING` selection sets, whatever the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_NESTING = 40  # selection sets inside one another, inline fragments included
SATURATED = 1 << 40


class DocumentTooBig(Exception):
    """The document asks for more than the limits allow; the message says what."""


@dataclass(frozen=True, slots=True)
class Size:
    fields: int = 0  # fields once every fragment is expanded
    depth: int = 0  # deepest field, counted from the operation (introspection not counted)
    aliases: int = 0  # aliased fields once every fragment is expanded
    # The widest selection set: most fields of one response name, and most fragment spreads,
    # in one set (inline fragments merged into it). Validation compares these in pairs.
    repeats: int = 0
    spreads: int = 0

    def __add__(self, other: Size) -> Size:
        """Both selections, side by side."""
        return Size(
            min(self.fields + other.fields, SATURATED),
            max(self.depth, other.depth),
            min(self.aliases + other.aliases, SATURATED),
            max(self.repeats, other.repeats),
            max(self.spreads, other.spreads),
        )

    def __or__(self, other: Size) -> Size:
        """The larger of two operations, measure by measure."""
        return Size(*(max(a, b) for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.fields, self.depth, self.aliases, self.repeats, self.spreads)


def measure(document: DocumentNode) -> Size:
    """The size of the document's largest operation."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    sizes: dict[str, Size] = {}
    for name in _dependency_order(fragments):
        sizes[name] = _measure_set(fragments[name].selection_set, sizes)
    biggest = Size()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            biggest |= _measure_set(definition.selection_set, sizes)
    return biggest


def _measure_set(selection_set: SelectionSetNode, sizes: dict[str, Size], nesting: int = 0) -> Size:
    """One selection set: its own fields, spreads and inline fragments, merged."""
    total = Size()
    per_name: dict[str, int] = {}
    spreads = 0
    pending = [(selection_set, nesting)]  # inline fragments merge into this set
    while pending:
        current, nesting = pending.pop()
        if nesting > MAX_NESTING:
            raise DocumentTooBig(f"selections are nested more than {MAX_NESTING} levels deep")
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                name = (selection.alias or selection.name).value
                per_name[name] = per_name.get(name, 0) + 1
                total += _measure_field(selection, sizes, nesting)
            elif isinstance(selection, FragmentSpreadNode):
                spreads += 1
                total += sizes.get(selection.name.value, Size())  # unknown: validation says so
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, nesting + 1))
    return total + Size(repeats=max(per_name.values(), default=0), spreads=spreads)


def _measure_field(field: FieldNode, sizes: dict[str, Size], nesting: int) -> Size:
    if field.selection_set is None:
        return Size(fields=1, depth=1, aliases=int(field.alias is not None))
    inner = _measure_set(field.selection_set, sizes, nesting + 1)
    introspection = field.name.value.startswith("__")  # as deep as the schema, not the data
    return Size(
        inner.fields + 1,
        1 if introspection else inner.depth + 1,
        inner.aliases + int(field.alias is not None),
        inner.repeats,
        inner.spreads,
    )


def _dependency_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads (an iterative depth-first walk,
    so a long chain of fragments cannot exhaust the stack). A cycle is refused."""
    order: list[str] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path: set[str] = {root}
        stack = [(root, iter(_spreads(fragments[root].selection_set, 0)))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                path.discard(name)
                done.add(name)
                order.append(name)
            elif child in path:
                raise DocumentTooBig(f"fragment {child} spreads itself")
            elif child in fragments and child not in done:
                path.add(child)
                stack.append((child, iter(_spreads(fragments[child].selection_set, 0))))
    return order


def _spreads(selection_set: SelectionSetNode, nesting: int) -> list[str]:
    if nesting > MAX_NESTING:
        raise DocumentTooBig(f"selections are nested more than {MAX_NESTING} levels deep")
    names: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            names.append(selection.name.value)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            names += _spreads(selection.selection_set, nesting + 1)
    return names
