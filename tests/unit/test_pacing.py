"""Long walks and big answers leave the event loop free between steps, and produce exactly
what doing it in one go would."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ose_mesh.api import json_output
from ose_mesh.core.pacing import paced

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=12) | st.dictionaries(st.text(), inner, max_size=12),
    max_leaves=60,
)


async def test_a_long_walk_lets_other_tasks_run() -> None:
    turns = 0

    async def other() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    neighbour = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = turns
    seen = []
    async for item in paced(range(20), step_seconds=0.002):
        deadline = time.perf_counter() + 0.001  # a millisecond of work per item
        while time.perf_counter() < deadline:
            pass
        seen.append(item)
    neighbour.cancel()
    assert seen == list(range(20))
    assert turns - before >= 5  # the neighbour ran during the walk, not only after it


async def _joined(value: Any) -> str:
    return "".join([piece async for piece in json_output.pieces(value)])


@pytest.fixture
def short_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every list or object of more than two members counts as long (the stepped path)."""
    monkeypatch.setattr(json_output, "LONG", 2)
    monkeypatch.setattr(json_output, "SLICE", 2)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=JSON)
async def test_pieces_join_to_the_same_json(value: Any) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_output, "LONG", 2)
        patch.setattr(json_output, "SLICE", 2)
        text = await _joined(value)
    assert json.loads(text) == value
    assert text == json_output.text(value)


@pytest.mark.usefixtures("short_collections")
async def test_a_streamed_answer_is_the_whole_json() -> None:
    value = {"data": {"services": [{"id": f"s{n}", "name": "é"} for n in range(7)]}}
    response = json_output.stream(value, headers={"X-Total-Count": "7"})
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
    assert json.loads(body) == value
    assert response.headers["x-total-count"] == "7"
    assert response.media_type == "application/json"
