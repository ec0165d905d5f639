"""What reaches the terminal: no password from a database URL, no markup or escape sequence from data,
no local variables in a traceback. Through typer's CliRunner (and a subprocess for the traceback)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hypodebate.cli import _fail, app
from safeio.text import SafeLogFormatter, display_url, hide_passwords, json_line, safe_text
from store.engine import open_store
from store.models import HypothesisRow, TurnRow
from tests.fakes import FakeDebater, Reply
from tests.helpers import REPO
from tests.loopback import LoopbackServer

runner = CliRunner()
SECRET = "s3cret"
UNREACHABLE = f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/x"
OSC52 = "\x1b]52;c;aGk=\x07"  # writes "hi" to the clipboard of a terminal that honours it
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # a hidden hyperlink
MARKUP_TITLE = "[/x] [bold] Markup Title"
HOSTILE_YAML = f"""\
hypotheses:
  - id: h-0badc0de
    title: {MARKUP_TITLE!r}
    targets: TREM2
    mechanism: TREM2 agonism in microglia lowers amyloid plaque load and slows neurodegeneration.
    diseases: [frontotemporal dementia]
"""
PAGE = """\
---
slug: trem2
title: TREM2
entities: [GENE:TREM2]
---
# TREM2

A microglial receptor.
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The defaults, whatever ./config.yaml says."""
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text("{}\n", encoding="utf-8")
    return path


def cli(args: list[str], config: Path, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, [*args, "--config", str(config)], env=env)


def _enums(schema: Any) -> set[Any]:
    """Every value an `enum` in the JSON schema allows."""
    if isinstance(schema, dict):
        found = set(schema.get("enum", []))
        for value in schema.values():
            found |= _enums(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_enums(v) for v in schema)) if schema else set()
    return set()


def _inject(value: Any, keep: set[Any]) -> Any:
    """Every free-text string of a structured answer with terminal escape sequences around it."""
    if isinstance(value, str):
        return value if value in keep else f"{OSC52}{value} {OSC8}"
    if isinstance(value, dict):
        return {k: _inject(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_inject(v, keep) for v in value]
    return value


class HostileModel:
    """The loopback fake, with OSC 52 and OSC 8 sequences in every text it writes."""

    def __init__(self) -> None:
        self.fake = FakeDebater(score=lambda judge, dim: 6 + judge)

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = self.fake(body)
        if isinstance(reply.tool_args, dict):
            reply.tool_args = _inject(reply.tool_args, _enums(body.get("tools")))
        elif reply.content:
            reply.content = _inject(reply.content, set())
        return reply


@pytest.fixture(scope="module")
def debated(tmp_path_factory: pytest.TempPathFactory, config: Path) -> Path:
    """A database where `run` debated a hypothesis titled with markup, against a model that writes escapes."""
    folder = tmp_path_factory.mktemp("terminal")
    source = folder / "hostile.yaml"
    source.write_text(HOSTILE_YAML, encoding="utf-8")
    db = folder / "t.db"
    server = LoopbackServer(responder=HostileModel()).start()
    try:
        result = cli(
            ["run", str(source), "--db", f"sqlite:///{db}", "--rounds", "1", "--judges", "2"],
            config,
            env={"OPENAI_BASE_URL": server.url},
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert MARKUP_TITLE in result.stdout  # the literal brackets, in the ranked table
    return db


def assert_clean(result: Any) -> None:
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream and "\x9d" not in stream
        assert SECRET not in stream


def test_run_prints_a_markup_title_literally(debated: Path, config: Path, tmp_path: Path):
    """In the ranked table (see the fixture) and in an input error: `[/x]` once crashed `run` with a MarkupError."""
    source = tmp_path / "bad.yaml"
    source.write_text(HOSTILE_YAML.replace("targets: TREM2", "targets: '[/x]'"), encoding="utf-8")
    result = cli(["run", str(source), "--db", f"sqlite:///{debated}"], config)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {source}:2") and MARKUP_TITLE in result.stderr
    assert "(got ['[', 'x]'])" in result.stderr
    assert_clean(result)


def test_show_prints_titles_and_model_text_without_markup_or_escapes(debated: Path, config: Path):
    sessions = open_store(f"sqlite:///{debated}")
    try:
        with sessions() as session:  # as a hostile writer to a shared database would
            session.execute(update(HypothesisRow).values(target_label=f"TREM2 {OSC52}[red]"))
            session.commit()
            assert any(OSC52 in t.text for t in session.query(TurnRow))  # the model's escapes were stored as given
    finally:
        sessions.close()
    shown = cli(["show", "h-0badc0de", "--db", f"sqlite:///{debated}"], config)
    assert shown.exit_code == 0, shown.output
    assert MARKUP_TITLE in shown.stdout and "TREM2 ]52;c;aGk=[red]" in shown.stdout  # ESC and BEL gone
    assert "click" in shown.stdout  # the hyperlink's text stays, its escape sequences go
    assert_clean(shown)


def test_report_and_errors_print_no_escapes(debated: Path, config: Path, tmp_path: Path):
    url = f"sqlite:///{debated}"
    written = cli(["report", "--db", url, "-o", str(tmp_path / "r.md"), "--format", "md"], config)
    assert written.exit_code == 0, written.output
    assert_clean(written)
    hostile_id = f"h-{OSC52}[/x]"
    missing = cli(["report", "--db", url, "--hypothesis", hostile_id, "-o", str(tmp_path / "x.md")], config)
    assert missing.exit_code == 2
    assert "[/x]" in missing.stderr  # the id as text
    assert_clean(missing)
    not_found = cli(["show", hostile_id, "--db", url], config)
    assert not_found.exit_code == 2 and "[/x]" in not_found.stderr
    assert_clean(not_found)


def test_a_postgres_password_never_reaches_the_output(postgres_url: str, config: Path, tmp_path: Path):
    """The test server trusts local connections, so a URL with a made-up password works, as a real one would."""
    url = make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)
    page = tmp_path / "trem2.md"
    page.write_text(PAGE, encoding="utf-8")
    imported = cli(["pages", "import", str(page), "--root", str(tmp_path), "--db", url], config)
    assert imported.exit_code == 0, imported.output
    assert "1 page(s) imported into postgresql+psycopg://postgres:***@" in imported.stderr
    for args in (
        ["show", "h-00000000"],
        ["report", "--batch", "b-00000000", "-o", str(tmp_path / "r.html")],
        ["report", "--hypothesis", "h-00000000", "-o", str(tmp_path / "r.html")],
    ):
        result = cli([*args, "--db", url], config)
        assert result.exit_code == 2 and ":***@" in result.stderr, result.output
        assert_clean(result)
    for args in (
        ["export", "-o", str(tmp_path / "e.jsonl")],
        ["agreement"],
        ["pages", "attach", "--root", str(tmp_path), "--dry-run"],
    ):
        assert_clean(cli([*args, "--db", url], config))
    assert_clean(imported)


@pytest.mark.parametrize(
    "command",
    [
        ["show", "h-2600483e"],
        ["report", "-o", "{tmp}/r.html"],
        ["export", "-o", "{tmp}/e.jsonl"],
        ["agreement"],
        ["pages", "import", "{tmp}/none.md"],
        ["pages", "attach"],
    ],
)
@pytest.mark.parametrize(
    "url", [UNREACHABLE, f"postgresql+psycopg://user:{SECRET}@127.0.0.1:notaport/x"], ids=["unreachable", "bad-port"]
)
def test_an_unusable_database_fails_with_an_error_without_the_password(
    command: list[str], url: str, config: Path, tmp_path: Path
):
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = cli([*args, "--db", url], config)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert_clean(result)


def test_a_traceback_shows_no_local_variables():
    """An unexpected error prints rich's traceback; with locals on, it would print the key in a local variable."""
    assert app.pretty_exceptions_show_locals is False
    script = (
        "from hypodebate.cli import app\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    api_key = 'sk-LOCAL-SECRET-4242'\n"
        "    raise RuntimeError('unexpected ' + str(len(api_key)))\n"
        "app()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_TYPER", "TYPER_", "OPENAI_", "HYPODEBATE_"))}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-c", script, "boom"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "RuntimeError: unexpected 20" in done.stderr  # the traceback is there ...
    assert "sk-LOCAL-SECRET-4242" not in done.stderr + done.stdout  # ... without the local variable's value


def test_fail_is_typed_noreturn():
    """`_fail` always raises; typed NoReturn, checkers see the code after each call as unreachable."""
    assert typing.get_type_hints(_fail)["return"] is typing.NoReturn


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a{OSC52}b", "a]52;c;aGk=b"),
        ("tab\tnew\nline\r\nCR\rend", "tab\tnew\nline\nCR\nend"),
        ("c1 \x9b31m csi \x9d osc \x85 nel", "c1 31m csi  osc  nel"),
        ("\x00nul \x7fdel", "nul del"),
    ],
)
def test_safe_text_strips_control_characters(text: str, expected: str):
    assert safe_text(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (UNREACHABLE, "postgresql+psycopg://user:***@127.0.0.1:1/x"),
        ("postgresql://u:p@ss:w@rd@db.example:notaport/x", "postgresql://u:***@db.example:notaport/x"),
        ("not a url://u:pw@h", "not a url://u:***@h"),
        ("sqlite:///plain.db", "sqlite:///plain.db"),
    ],
)
def test_display_url_hides_the_password_even_when_unparsable(url: str, expected: str):
    assert display_url(url) == expected
    assert hide_passwords(f"cannot open {url}: refused") == f"cannot open {expected}: refused"


@pytest.mark.parametrize("field", ["title", "entity_type"])
def test_a_page_with_a_control_character_in_its_title_is_refused(config: Path, tmp_path: Path, field: str):
    page = tmp_path / "trem2.md"
    hostile = f'{field}: "TREM2 \\e]52;c;aGk=\\a"'  # YAML escapes: raw ESC is not even valid YAML
    page.write_text(PAGE.replace("title: TREM2", hostile if field == "title" else f"title: TREM2\n{hostile}"))
    db = f"sqlite:///{tmp_path / 'p.db'}"
    result = cli(["pages", "import", str(page), "--root", str(tmp_path), "--db", db], config)
    assert result.exit_code == 2, result.output
    assert str(page) in result.stderr and field in result.stderr and "control character U+001B" in result.stderr
    assert_clean(result)


C1 = "\x9b2J \x9d8;;https://evil.example/\x9c"  # CSI, OSC and ST in their 8-bit forms
BIDI = "\u202eevil\u202c \u2066x\u2069"  # RLO ... PDF, LRI ... PDI: shown in another order than stored


def test_evidence_jsonl_escapes_c1_controls_and_bidi_and_keeps_the_data(debated: Path, config: Path):
    sessions = open_store(f"sqlite:///{debated}")
    try:
        with sessions() as session:  # a turn citing a paper, written with 8-bit escapes by a hostile model
            turn = session.query(TurnRow).order_by(TurnRow.seq).first()
            assert turn is not None
            stated = f"Microglia {C1} respond {BIDI} (PMID: 12345678)."
            session.execute(update(TurnRow).where(TurnRow.id == turn.id).values(text=stated))
            session.commit()
    finally:
        sessions.close()
    result = cli(["evidence", "--format", "jsonl", "--db", f"sqlite:///{debated}"], config)
    assert result.exit_code == 0, result.output
    assert_clean(result)
    assert not any(c in result.stdout for c in "\u202e\u202c\u2066\u2069")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    claims = [row["claim"] for row in rows if row["citation"] == "PMID: 12345678"]
    assert claims and C1 in claims[0] and BIDI in claims[0]  # escaped for the terminal, unchanged for a JSON reader


def test_log_lines_carry_no_escape_sequence_or_password():
    formatter = SafeLogFormatter("%(levelname)s %(message)s", one_line_errors=True)
    logger = logging.getLogger("tests.hostile")
    try:
        raise LookupError(f"debate d-{OSC52}{C1} in postgresql://u:{SECRET}@db/x")
    except LookupError:
        record = logger.makeRecord(
            "tests.hostile", logging.ERROR, __file__, 1, "job %s failed", (f"d-{OSC8}{BIDI}",), sys.exc_info()
        )
    line = formatter.format(record)
    assert not any(c in line for c in "\x1b\x07\x9b\x9d\x9c\u202e\u2066")
    assert SECRET not in line and "postgresql://u:***@db/x" in line
    assert "job d-]8;;https://evil.example/\\click]8;;\\evil x failed" in line
    assert line.endswith("LookupError: debate d-]52;c;aGk=2J 8;;https://evil.example/ in postgresql://u:***@db/x")


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_bidi_overrides_are_stripped_from_output_and_escaped_in_json(char: str):
    assert safe_text(f"a{char}b") == "ab"
    assert json.loads(json_line({"t": f"a{char}b"})) == {"t": f"a{char}b"} and char not in json_line(char)


def test_a_warning_no_handler_takes_reaches_stderr_filtered():
    script = (
        "import logging, sys\n"
        "from hypodebate.cli import app\n"
        "try:\n"
        "    app(['show', '--help'])\n"  # any command: the CLI installs the filtered last resort
        "except SystemExit:\n"
        "    pass\n"
        "logging.getLogger('agents.client').warning('json_schema refused (%s)', sys.argv[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, f"400 {OSC52}{C1}"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stderr == "WARNING agents.client: json_schema refused (400 ]52;c;aGk=2J 8;;https://evil.example/)\n"
