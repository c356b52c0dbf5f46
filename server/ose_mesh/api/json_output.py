"""JSON answers too big to encode in one go without holding the event loop.

10,000 services are megabytes of JSON: json.dumps encodes them in one C call that holds
the loop for its whole length (60-70 ms for the web client's snapshot). `stream` encodes
the long lists and objects in an answer SLICE members at a time, letting the loop run
between slices as core/pacing.py does, and sends the text in pieces of about PIECE_BYTES.
Answers with no collection longer than LONG are encoded at once, as before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

from ose_mesh.core.pacing import paced

LONG = 250
SLICE = 50
PIECE_BYTES = 64 * 1024


def text(value: Any) -> str:
    """JSON as every answer writes it: compact, UTF-8, no NaN."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def is_long(value: Any, size: int = LONG) -> bool:
    """Whether `value` holds a list or object of more than `size` members (looking inside
    objects only: answers keep their long collections near the top)."""
    if isinstance(value, Mapping):
        return len(value) > size or any(is_long(member, size) for member in value.values())
    return isinstance(value, list) and len(value) > size


async def pieces(value: Any) -> AsyncIterator[str]:
    """The JSON text of `value` in pieces; a long list or object is encoded a slice of its
    members at a time, and the event loop runs between slices."""
    if isinstance(value, list) and len(value) > LONG:
        yield "["
        async for start in paced(range(0, len(value), SLICE)):
            yield f"{',' if start else ''}{text(value[start : start + SLICE])[1:-1]}"
        yield "]"
    elif isinstance(value, Mapping) and is_long(value):
        yield "{"
        async for index, (key, member) in paced(enumerate(value.items())):
            yield f"{',' if index else ''}{text(str(key))}:"
            async for piece in pieces(member):
                yield piece
        yield "}"
    else:
        yield text(value)


async def _gathered(value: Any) -> AsyncIterator[bytes]:
    """`pieces`, sent in parts of about PIECE_BYTES rather than one ASGI message each."""
    buffered: list[str] = []
    length = 0
    async for piece in pieces(value):
        buffered.append(piece)
        length += len(piece)
        if length >= PIECE_BYTES:
            yield "".join(buffered).encode()
            buffered, length = [], 0
    if buffered:
        yield "".join(buffered).encode()


def stream(value: Any, *, headers: Mapping[str, str] | None = None) -> StreamingResponse:
    """`value` as a JSON answer, encoded and sent a piece at a time."""
    return StreamingResponse(_gathered(value), media_type="application/json", headers=headers)
