"""Waiting for something the server does in the background, without guessing a sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T] | T], *, within: float = 5.0, step: float = 0.01
) -> T:
    """Ask `check` until it returns something truthy, and return that; fail with the last
    answer after `within` seconds. A bound on waiting, not a timing assertion: a test that
    passes does not wait for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer = check()
        if asyncio.iscoroutine(answer) or isinstance(answer, asyncio.Future):
            answer = await answer
        if answer:
            return answer  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"still {answer!r} after {within} s")
        await asyncio.sleep(step)
