"""Schemathesis over the real server, authenticated with a write token, seed fixed: the REST
routes from /api/openapi.json (every check, stateful phase included) and GraphQL at /graphql.
Zero server errors and zero answers that contradict the schema; the number of generated cases
is printed.

`positive_data_acceptance` is off: it expects every schema-valid input to be accepted, and
some of our rules cannot be written in a schema (a service may not depend on itself; the
timeout is at least the interval; limits like `last` from 1 to 1000 in GraphQL). Everything
the schemas can say, they say; the rest is answered with a 4xx or an error coded
BAD_USER_INPUT, which the other checks verify.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import MeshProcess

pytestmark = pytest.mark.fuzz
WRITE = "fuzz-write-token"
SEED = "1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshProcess]:
    folder = tmp_path_factory.mktemp("fuzz")
    mesh = MeshProcess(
        f"sqlite+aiosqlite:///{folder / 'mesh.db'}",
        folder,
        env={"OSE_MESH_WRITE_TOKENS": WRITE, "OSE_MESH_READ_TOKENS": "fuzz-read-token-1"},
    )
    mesh.start()
    yield mesh
    mesh.stop()


def schemathesis(target: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", target,
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", "40", "--seed", SEED,
        "-H", f"Authorization: Bearer {WRITE}", *extra,
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "NO_COLOR": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    with capsys.disabled():  # shown in every run, not only when the test fails
        print(f"\nschemathesis {target}: {generated.group(0) if generated else 'no'} test cases")
    assert result.returncode == 0, output[-6000:]
    assert generated is not None
    assert int(generated.group(1)) > 100
    return output


def test_rest_api_against_its_openapi_document(
    server: MeshProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    output = schemathesis(f"{server.url}/api/openapi.json", capsys)
    assert "Stateful" in output


def test_graphql_against_its_schema(
    server: MeshProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    schemathesis(f"{server.url}/graphql", capsys)
    # the server is still well afterwards
    assert server.process is not None
    assert server.process.poll() is None
