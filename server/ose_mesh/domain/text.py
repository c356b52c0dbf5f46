"""Text every store can keep: PostgreSQL refuses the NUL character in text, and UTF-8 has no
encoding for a lone surrogate (JSON's "\\ud800"). Both are refused where they enter, naming
the field, rather than failing later inside a batch that carries other services' rows."""

from __future__ import annotations

from ose_mesh.domain.errors import InvalidField


def storable(field: str, value: str | None) -> str | None:
    """`value` unchanged, or InvalidField when no database could store it."""
    if value is None:
        return None
    if "\x00" in value:
        raise InvalidField(field, "must not contain the NUL character (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field, "must be valid Unicode (it has an unpaired surrogate)") from None
    return value
