"""What the chaos test and `bench/chaos.py` share: variant batches, `hypodebate run` subprocesses killed
with SIGKILL and resumed, and an audit of the final database (lost, duplicated, out of range, inconsistent)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from debates.hypotheses import Hypothesis
from debates.inputs import load_hypotheses
from tests.helpers import EXAMPLE, REPO

FINAL = ("completed", "failed")
_FAILED_LINE = re.compile(r"^failed (h-[0-9a-f]{8}) \((d-[0-9a-f]+)\): (.*)$")


# -- inputs and commands ----------------------------------------------------------------------------


def variants(size: int) -> list[Hypothesis]:
    """`size` distinct hypotheses: the example file's, cycled, each title marked with its variant number."""
    base = load_hypotheses([EXAMPLE])
    return [
        base[i % len(base)].model_copy(update={"id": None, "title": f"{base[i % len(base)].title} (variant {i})"})
        for i in range(size)
    ]


def write_variants(path: Path, size: int) -> list[str]:
    """Write `variants(size)` as a hypotheses YAML file; return their ids as `hypodebate` will derive them."""
    records = [h.model_dump(mode="json", exclude={"id"}, exclude_none=True) for h in variants(size)]
    path.write_text(yaml.safe_dump({"hypotheses": records}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return [h.hypothesis_id for h in load_hypotheses([path])]


def run_env(base_url: str, config: Path, llm: Mapping[str, object]) -> dict[str, str]:
    """The environment of a `hypodebate run` against the fake: nothing inherited from OPENAI_/HYPODEBATE_
    variables; `config` (an isolated config.yaml) plus `HYPODEBATE_LLM__<KEY>` overrides from `llm`
    (nested keys as "retry__max_attempts")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HYPODEBATE_"))}
    if not config.exists():
        config.write_text("# chaos runs: built-in defaults, overridden by HYPODEBATE_* variables\n{}\n")
    env |= {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-chaos-test", "HYPODEBATE_CONFIG": str(config)}
    env |= {f"HYPODEBATE_LLM__{key.upper()}": str(value) for key, value in llm.items()}
    return env


def run_command(file: Path, db: str, *, rounds: int, judges: int, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hypodebate",
        "run",
        str(file),
        "--db",
        db,
        "--rounds",
        str(rounds),
        "--judges",
        str(judges),
        "--concurrency",
        str(concurrency),
    ]


def failures_in(stderr: str) -> Counter[str]:
    """Reason classes of the `failed h-… (d-…): reason` lines `hypodebate run` prints."""
    return Counter(reason_class(m.group(3)) for line in stderr.splitlines() if (m := _FAILED_LINE.match(line)))


def reason_class(reason: str | None) -> str:
    """A stored failure reason, summarised: which fault class ended the debate."""
    text_ = reason or ""
    if not text_:
        return "no reason"
    # a structured turn that never validated: "judge: no valid Verdict after 4 asks, ...: <last error>"
    if "StructuredOutputError" in text_ or re.search(r"\bno valid \w+ after \d+ asks", text_):
        malformed = ("invalid JSON", "cut off", "no JSON object")
        return "malformed JSON" if any(s in text_ for s in malformed) else "schema violation"
    if "LLMCallFailed" in text_:
        if status := re.search(r"HTTP (\d{3})", text_):
            return "rate_limit" if status.group(1) == "429" else f"HTTP {status.group(1)}"
        if "Timeout" in text_:
            return "timeout"
        return "connection" if "Connection" in text_ else "call failed"
    return "turn rejected"


# -- kill -9 and resume -------------------------------------------------------------------------------


def turns_stored(db_path: Path) -> int:
    """Turns in the database so far (read-only; 0 while it does not exist or is busy)."""
    if not db_path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)) as connection:
            return int(connection.execute("select count(*) from turns").fetchone()[0])
    except sqlite3.Error:
        return 0


@dataclass
class Resumed:
    kills: int = 0
    runs: int = 0
    returncodes: list[int] = field(default_factory=list)
    failures_seen: Counter[str] = field(default_factory=Counter)  # in runs that ended on their own
    kill_points: list[int] = field(default_factory=list)  # turns stored when each kill landed
    wall_s: float = 0.0


def kill_and_resume(
    command: Sequence[str],
    env: Mapping[str, str],
    db_path: Path,
    logs: Path,
    *,
    kills: int,
    rng: random.Random,
    new_turns: tuple[int, int] = (5, 20),
    resumes: int = 8,
    timeout_s: float = 120,
) -> Resumed:
    """SIGKILL the batch `kills` times, each after a random number (`new_turns`) of newly stored turns plus
    a random few milliseconds; then resume until a run exits 0 (every debate completed) or `resumes` runs
    have ended on their own."""
    report = Resumed()
    started = time.perf_counter()
    while report.kills < kills:
        target = turns_stored(db_path) + rng.randint(*new_turns)
        code, stderr = _run(command, env, logs, report, until=lambda t=target: turns_stored(db_path) >= t, rng=rng)
        if code != -signal.SIGKILL:
            raise RuntimeError(f"the batch ended (exit {code}) before kill {report.kills + 1}: {stderr[-2000:]}")
        report.kills += 1
        report.kill_points.append(turns_stored(db_path))
    for _ in range(resumes):
        code, stderr = _run(command, env, logs, report, timeout_s=timeout_s)
        report.failures_seen += failures_in(stderr)
        if code == 0:
            break
        if code != 1:  # 1: some debates failed (they are retried by the next run); anything else is a crash
            raise RuntimeError(f"a resumed run exited {code}: {stderr[-2000:]}")
    report.wall_s = time.perf_counter() - started
    return report


def _run(
    command: Sequence[str],
    env: Mapping[str, str],
    logs: Path,
    report: Resumed,
    *,
    until: Callable[[], bool] | None = None,
    rng: random.Random | None = None,
    timeout_s: float = 120,
) -> tuple[int, str]:
    """One run of `command`, killed once `until()` holds (if given). Returns (exit code, stderr)."""
    report.runs += 1
    stdout_path, stderr_path = logs / f"run{report.runs}.out", logs / f"run{report.runs}.err"
    deadline = time.monotonic() + timeout_s
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen(list(command), env=dict(env), cwd=REPO, stdout=stdout, stderr=stderr)
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"run {report.runs} made no progress in {timeout_s} s")
                if until is not None and until():
                    time.sleep(rng.uniform(0, 0.03) if rng else 0)  # land anywhere between two writes
                    process.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.01)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.communicate()
    report.returncodes.append(process.returncode)
    return process.returncode, stderr_path.read_text()


# -- the audit ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """The final state of a batch's database against what was asked for."""

    expected: int  # debates asked for: hypotheses x replicates
    debates: int
    completed: int
    failed: int
    running: int
    lost: int  # expected debates not present in a final state
    extra_debates: int  # debates beyond the replicates asked for, per hypothesis
    duplicate_verdicts: int  # (debate, judge) pairs stored more than once
    duplicate_scores: int  # debates with more than one score row
    duplicate_turns: int  # (debate, seq) pairs stored more than once
    out_of_range: int  # verdicts with a dimension score outside 1..scale (or a composite/mean outside 0..1)
    inconsistent: int  # completed debates whose turns, verdicts and score disagree; failed ones with a score
    unexplained: int  # failed debates without a failure reason
    stale_aggregates: int  # hypotheses whose scoreboard debate counts disagree with their completed debates
    calls: int  # usage rows: one per LLM call (a re-ask is a call; retries are attempts of one call)
    retries: int  # sum of attempts - 1 over all calls
    gave_up: Counter[str]  # calls that gave up, by error class
    failure_reasons: Counter[str]
    completed_per_hypothesis: dict[str, int]

    @property
    def duplicated(self) -> int:
        return self.extra_debates + self.duplicate_verdicts + self.duplicate_scores + self.duplicate_turns

    def problems(self) -> list[str]:
        checks = {
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out of range": self.out_of_range,
            "inconsistent": self.inconsistent,
            "failed without a reason": self.unexplained,
            "stale hypothesis aggregates": self.stale_aggregates,
        }
        return [f"{name}: {n}" for name, n in checks.items() if n]


def _count(connection: object, sql: str, **params: object) -> int:
    return int(connection.execute(text(sql), params).scalar() or 0)  # type: ignore[attr-defined]


def audit(url: str, hypothesis_ids: Sequence[str], *, judges: int, replicates: int = 1, scale: int = 10) -> Audit:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("select id, hypothesis_id, status, failure_reason from debates")).all()
            verdict_rows = c.execute(text("select scores, composite from verdicts")).all()
            means = [m for (m,) in c.execute(text("select mean from scores"))]
            usage = c.execute(text("select attempts, ok, error from usage")).all()
            stale = c.execute(
                text(
                    "select count(*) from hypotheses h where (select coalesce(sum(s.debates), 0)"
                    " from hypothesis_scores s where s.hypothesis_id = h.id and s.current) != (select count(*)"
                    " from debates d"
                    " where d.hypothesis_id = h.id and d.status = 'completed' and d.hypothesis_hash = h.content_hash)"
                )
            ).scalar()
            duplicate_verdicts = _count(
                c, "select count(*) from (select debate_id, judge from verdicts group by 1, 2 having count(*) > 1) t"
            )
            duplicate_scores = _count(
                c, "select count(*) from (select debate_id from scores group by 1 having count(*) > 1) t"
            )
            duplicate_turns = _count(
                c, "select count(*) from (select debate_id, seq from turns group by 1, 2 having count(*) > 1) t"
            )
            inconsistent = _count(
                c,
                "select count(*) from debates d where (d.status = 'completed' and ("
                " (select count(*) from verdicts v where v.debate_id = d.id) != :judges"
                " or (select count(*) from turns t where t.debate_id = d.id and t.step = 'verdict') != :judges"
                " or (select count(*) from scores s where s.debate_id = d.id) != 1"
                " or (select count(*) from turns t where t.debate_id = d.id) !="
                "    (select coalesce(max(seq), -1) + 1 from turns t where t.debate_id = d.id)))"
                " or (d.status != 'completed' and exists (select 1 from scores s where s.debate_id = d.id))",
                judges=judges,
            )
    finally:
        engine.dispose()
    wanted = set(hypothesis_ids)
    ours = [r for r in rows if r.hypothesis_id in wanted]
    per_hypothesis = Counter(r.hypothesis_id for r in ours)
    failed = [r for r in ours if r.status == "failed"]
    completed = Counter(r.hypothesis_id for r in ours if r.status == "completed")
    return Audit(
        expected=len(wanted) * replicates,
        debates=len(ours),
        completed=sum(completed.values()),
        failed=len(failed),
        running=sum(r.status == "running" for r in ours),
        lost=sum(max(0, replicates - sum(r.status in FINAL for r in ours if r.hypothesis_id == h)) for h in wanted),
        extra_debates=sum(max(0, n - replicates) for n in per_hypothesis.values()),
        duplicate_verdicts=duplicate_verdicts,
        duplicate_scores=duplicate_scores,
        duplicate_turns=duplicate_turns,
        out_of_range=sum(not _in_range(scores, composite, scale) for scores, composite in verdict_rows)
        + sum(not 0 <= m <= 1 for m in means),
        inconsistent=inconsistent,
        unexplained=sum(not (r.failure_reason or "").strip() for r in failed),
        stale_aggregates=int(stale or 0),
        calls=len(usage),
        retries=sum(max(0, u.attempts - 1) for u in usage),
        gave_up=Counter(u.error or "other" for u in usage if not u.ok),
        failure_reasons=Counter(reason_class(r.failure_reason) for r in failed),
        completed_per_hypothesis={
            h: sum(r.status == "completed" for r in ours if r.hypothesis_id == h) for h in wanted
        },
    )


def _in_range(scores: object, composite: float, scale: int) -> bool:
    if isinstance(scores, str):
        scores = json.loads(scores)
    if not isinstance(scores, dict) or not scores:
        return False
    values = scores.values()
    return all(type(v) is int and 1 <= v <= scale for v in values) and 0 <= composite <= 1
