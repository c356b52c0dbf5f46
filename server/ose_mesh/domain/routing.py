"""RabbitMQ's routing rules, exactly: topic patterns and headers-exchange matching.

Pure rules, shared by the in-memory broker and the event log's filters.

Topic: keys and patterns are split on '.', keeping empty words inside ("a..b" has three
words, "a." two), while the empty key has none (checked against RabbitMQ: `*` does not match
""); '*' matches exactly one word, '#' zero or more words.
Headers: x-match all (default) or any compare the binding's arguments that do not start with
"x-"; all-with-x and any-with-x compare them all. A binding argument without a value matches
when the header is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any


def topic_matches(pattern: str, routing_key: str) -> bool:
    return _match(_words(pattern), _words(routing_key))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")) if text else ()


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        # zero words, or swallow one and try again
        return _match(rest, words) or (bool(words) and _match(pattern, words[1:]))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


def headers_match(arguments: Mapping[str, Any], headers: Mapping[str, Any] | None) -> bool:
    headers = headers or {}
    mode = str(arguments.get("x-match", "all"))
    with_x = mode.endswith("-with-x")
    wanted = {
        key: value
        for key, value in arguments.items()
        if key != "x-match" and (with_x or not key.startswith("x-"))
    }
    results = (
        key in headers and (value is None or headers[key] == value) for key, value in wanted.items()
    )
    if mode.startswith("any"):
        return any(results)
    return all(results)
