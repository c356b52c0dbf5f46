"""What an HTTP check may require of an answer beyond "2xx or 3xx".

Every assertion is optional. The first that fails is the reason of the failed check, in
words that name it ("expected status 200 or 204, got 503"). A body is read only when an
assertion needs it, and never more than MAX_BODY_BYTES of it: a longer body fails the
check rather than being searched in part.

JSON-path conditions use JSONPath as jsonpath-ng's extended parser reads it (`$.status`,
`$.checks[?(@.ok == false)].name`):
the path must find a value and, when `json_equals` is given, the first value found must
equal it (a string, number or boolean, compared as JSON values).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as parse_json_path

from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.text import storable

MAX_BODY_BYTES = 64 * 1024
MAX_STATUS_CODES = 20
MAX_TEXT_LENGTH = 500
JsonScalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class HttpAssertions:
    status_codes: tuple[int, ...] = ()  # empty: any 2xx or 3xx
    body_contains: str | None = None
    json_path: str | None = None
    json_equals: JsonScalar | None = None
    max_response_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The assertions that are set, as JSON values (stored, answered and exported)."""
        given = {
            "status_codes": list(self.status_codes) or None,
            "body_contains": self.body_contains,
            "json_path": self.json_path,
            "json_equals": self.json_equals,
            "max_response_ms": self.max_response_ms,
        }
        return {name: value for name, value in given.items() if value is not None}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> HttpAssertions:
        return cls(
            status_codes=tuple(values.get("status_codes") or ()),
            body_contains=values.get("body_contains"),
            json_path=values.get("json_path"),
            json_equals=values.get("json_equals"),
            max_response_ms=values.get("max_response_ms"),
        )

    @property
    def reads_body(self) -> bool:
        return self.body_contains is not None or self.json_path is not None

    def validated(self) -> HttpAssertions:
        if len(self.status_codes) > MAX_STATUS_CODES:
            raise InvalidField(
                "assertions.status_codes", f"may name at most {MAX_STATUS_CODES} codes"
            )
        for code in self.status_codes:
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise InvalidField(
                    "assertions.status_codes", f"must be HTTP status codes 100-599, got {code!r}"
                )
        _text("assertions.body_contains", self.body_contains)
        if self.body_contains == "":
            raise InvalidField("assertions.body_contains", "must not be empty")
        _text("assertions.json_path", self.json_path)
        if self.json_path is not None:
            compiled_path(self.json_path)
        if self.json_equals is not None:
            if self.json_path is None:
                raise InvalidField("assertions.json_equals", "needs assertions.json_path")
            if not isinstance(self.json_equals, JsonScalar):
                raise InvalidField(
                    "assertions.json_equals", "must be a string, a number or a boolean"
                )
            if isinstance(self.json_equals, float) and not math.isfinite(self.json_equals):
                raise InvalidField("assertions.json_equals", "must be a finite number")
            if isinstance(self.json_equals, str):
                _text("assertions.json_equals", self.json_equals)
        if self.max_response_ms is not None and not 0 < self.max_response_ms <= 3_600_000:
            raise InvalidField(
                "assertions.max_response_ms", "must be greater than 0 and at most 3600000"
            )
        return self

    def failure(self, status: int, body: bytes | None, latency_ms: float) -> str | None:
        """Why the answer fails the assertions, or None when it passes them all. `body` is
        None when it was longer than MAX_BODY_BYTES."""
        if self.status_codes:
            if status not in self.status_codes:
                wanted = " or ".join(str(code) for code in self.status_codes)
                return f"expected status {wanted}, got {status}"
        elif not 200 <= status < 400:
            return f"HTTP {status}"
        if self.max_response_ms is not None and latency_ms > self.max_response_ms:
            return f"answered in {latency_ms:.0f} ms, over the {self.max_response_ms:g} ms maximum"
        if not self.reads_body:
            return None
        if body is None:
            return f"the body is longer than the {MAX_BODY_BYTES // 1024} KB an assertion reads"
        text = body.decode("utf-8", errors="replace")
        if self.body_contains is not None and self.body_contains not in text:
            return f"the body does not contain {_quoted(self.body_contains)}"
        if self.json_path is not None:
            return self._json_failure(text)
        return None

    def _json_failure(self, text: str) -> str | None:
        path = self.json_path or ""
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return f"the body is not JSON, so {_quoted(path)} cannot be read"
        try:
            found = [match.value for match in compiled_path(path).find(document)]
        except RecursionError:
            return f"{path} is too deep to follow in this body"
        if not found:
            return f"{_quoted(path)} finds nothing in the body"
        if self.json_equals is None or _same_json(found[0], self.json_equals):
            return None
        # JSON spellings: "UP" is a string, true a boolean, 1 a number
        shown = json.dumps(found[0], ensure_ascii=False)
        if len(shown) > 100:
            shown = shown[:100] + "…"
        return f"{path} is {shown}, expected {json.dumps(self.json_equals, ensure_ascii=False)}"


@lru_cache(maxsize=1024)
def compiled_path(expression: str) -> JSONPath:
    """The parsed expression (parsing is the slow part), or InvalidField saying why not."""
    try:
        return parse_json_path(expression)
    except Exception as exc:  # its syntax errors, and RecursionError for deep nesting
        raise InvalidField(
            "assertions.json_path", f"is not a JSONPath expression ({exc})"
        ) from None


def _same_json(found: Any, expected: JsonScalar) -> bool:
    """Equal as JSON values: true is not 1, and 1 is 1.0."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return isinstance(found, bool) and isinstance(expected, bool) and found is expected
    return bool(found == expected)


def _text(field: str, value: str | None) -> None:
    storable(field, value)
    if value is not None and len(value) > MAX_TEXT_LENGTH:
        raise InvalidField(field, f"must be at most {MAX_TEXT_LENGTH} characters")


def _quoted(text: str) -> str:
    return json.dumps(text[:100], ensure_ascii=False)
