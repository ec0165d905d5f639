"""The README stays the manual: its set-up commands are what CI runs, and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from hypodebate.cli import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block, "the README must open with a bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert "'.[local]'" in commands[0] and "hypodebate" in commands[0]
    assert commands[1].endswith("-m pytest")


def test_ci_runs_the_readme_test_command():
    assert setup_commands()[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_every_cli_command_is_in_the_readme():
    group = get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    missing = [name for name in names if f"hypodebate {name}" not in README]
    assert not missing, f"commands missing from the README: {missing}"
