"""README.md's command table is a promise: every command it lists exists, with the options it
names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

README = Path(__file__).resolve().parent.parent / "README.md"
WORD = re.compile(r"^[a-z][a-z-]*$")


def _documented() -> list[tuple[tuple[str, ...], frozenset[str]]]:
    """(command path, options) for every command in the table, e.g. (("alerts", "ack"), {"--by"})."""
    out = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `sunlight "):
            continue
        first_cell = line.split(" | ")[0]
        path: list[str] = []
        for span in re.findall(r"`([^`]+)`", first_cell):
            tokens = span.split()
            if tokens[0] == "sunlight":
                tokens = tokens[1:]
            words = []
            for token in tokens:
                if not WORD.match(token):
                    break
                words.append(token)
            if path and words[0] != path[0]:
                words = path[:-1] + words if len(path) > 1 else path + words
            path = words
            options = frozenset(re.findall(r"--[a-z][a-z-]*", span))
            out.append((tuple(words), options))
    return out


COMMANDS = _documented()


def test_the_table_is_read() -> None:
    paths = {p for p, _ in COMMANDS}
    assert ("run",) in paths and ("alerts", "ack") in paths and ("alerts", "silence") in paths
    assert len(paths) >= 15


@pytest.mark.parametrize(("path", "options"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_each_documented_command_exists_with_its_options(
    path: tuple[str, ...], options: frozenset[str]
) -> None:
    from monitor.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, f"sunlight {' '.join(path)} --help: {result.output}"
    missing = {o for o in options if o not in result.output}
    assert not missing, f"sunlight {' '.join(path)} does not take {sorted(missing)}"
