"""hypodebate.collector: a command runs with what start-up built frozen out of the garbage collector's sight; the
program's own process keeps it frozen to the end, another program's process (this test runner's) gets it back."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hypodebate.cli import app

REPO = Path(__file__).resolve().parents[1]


def test_a_command_run_inside_another_program_leaves_nothing_frozen(tmp_path):
    result = CliRunner().invoke(app, ["status", "--db", f"sqlite:///{tmp_path / 'a.db'}"])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0


def test_the_programs_own_process_keeps_start_up_frozen_to_the_end(tmp_path):
    script = (
        "import atexit, gc, sys\n"
        "from hypodebate.cli import app\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "app(['status', '--db', sys.argv[1]])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HYPODEBATE_"))}
    done = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'b.db'}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "frozen at exit: True" in done.stdout
