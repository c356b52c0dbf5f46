"""JSON as clients send it, read with limits: nesting at most `MAX_NESTING` deep, numbers
Python can hold, and every failure a message that says what was wrong (never a
RecursionError or a 500). REST bodies, CloudEvents and GraphQL requests all come through here.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_NESTING = 32  # objects and arrays inside one another; the web client's deepest is 4


class JsonRefused(json.JSONDecodeError):
    """The text is not JSON the server accepts. A JSONDecodeError, so that code expecting
    malformed JSON (strawberry's WebSocket handlers) treats it as such."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", 0)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRefused(f"{text[:20]} is too large a number")
    return number


def parse_json(raw: str | bytes) -> Any:
    """The value `raw` holds, or JsonRefused saying why not."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise JsonRefused(f"JSON nested more than {MAX_NESTING} levels deep") from None
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise JsonRefused("the body is not UTF-8 text") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise JsonRefused(f"unreadable JSON: {exc}") from None
    if too_deep(value):
        raise JsonRefused(f"JSON nested more than {MAX_NESTING} levels deep")
    return value


def too_deep(value: Any) -> bool:
    """Whether containers nest in `value` deeper than MAX_NESTING (values that came as
    GraphQL literals or variables rather than through parse_json)."""
    return _nesting(value) > MAX_NESTING


def _nesting(value: Any) -> int:
    """How deep containers nest in `value` (iteratively: no recursion to exhaust)."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest
