"""Every importer refuses a broken file with `file:line: what is wrong`, exit code 1 and no
traceback, whatever shape the file takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ose_mesh.cli import main
from tests.conftest import sqlite_url

PYTHON_TAG = '!!python/object/apply:os.system ["echo pwned"]'

BROKEN = {
    "compose": [
        "services:\n  web:\n    depends_on:\n      - [db]\n",  # a list inside the list
        "services:\n  web:\n    depends_on:\n      db: yes\n",  # options not a mapping
        "services:\n  web:\n    depends_on: 7\n",
        "services:\n  - web\n  - db\n",
        "services:\n  web: [1, 2]\n",
        "services:\n  web:\n    depends_on:\n      db: {required: maybe}\n",
        f"services:\n  web:\n    image: {PYTHON_TAG}\n",
        "services: {web: {depends_on: [web]}}\n",
        "just text\n",
        "services:\n  web:\n    depends_on: [db\n",
    ],
    "backstage": [
        "- a\n- b\n",
        "kind: Component\nmetadata: [x]\n",
        "kind: Component\nmetadata: {name: a}\nspec: {dependsOn: component:b}\n",
        "kind: Component\nmetadata: {name: a}\nspec: {dependsOn: [[b]]}\n",
        "kind: Component\nmetadata: {name: a}\nspec: [1]\n",
        f"kind: Component\nmetadata: {{name: {PYTHON_TAG}}}\n",
        "kind: Component\nmetadata: {name: 'a b'}\n",
        "kind: Component\nmetadata: {name: a}\n---\n7\n",
    ],
    "catalog": [
        f"services:\n  - id: {PYTHON_TAG}\n",
        "services:\n  - id: a\n    check: {url: 'http://[::1/'}\n",
        "services: 7\n",
        "- 1\n",
    ],
}
CASES = [(kind, text) for kind, texts in BROKEN.items() for text in texts]


@pytest.mark.parametrize(("kind", "text"), CASES)
def test_broken_files_are_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, text: str
) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    database = ["--database-url", sqlite_url(tmp_path)]
    if kind == "catalog":
        argv = ["init", "--catalog", str(path), *database]
    else:
        argv = ["import", kind, str(path), *database]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(r"input\.yaml:\d+: \S", err), err
    assert "pwned" not in err
