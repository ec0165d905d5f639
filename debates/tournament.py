"""The pairwise tournament: hypotheses compared two at a time by a pairwise judge, every pair in both orders,
and Bradley-Terry ratings fitted from every judged order (scoring/ratings.py).

Up to 12 hypotheses every pair is judged; beyond that the schedule (scoring/pairing.py) starts from the rubric
order and then pairs the hypotheses whose ratings are least separated. Each comparison is stored as it lands
under an id derived from (pair, order, tournament protocol, judge), so a repeated tournament asks nothing again
and a killed one resumes, finishing half-judged pairs first. Ratings are refitted from every stored comparison
among the pool's current versions after each round, so they do not depend on the order comparisons landed in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agents.client import LLMClient
from agents.errors import LLMError
from agents.judge import CAPS
from agents.pairwise import DebateDigest, Judgement, JudgeNote, PairwiseJudge, digest
from agents.prompts import PromptSet
from agents.roles import PriorTurn, TurnFailed
from agents.settings import EMBEDDED_MODEL
from agents.usage import Account, CallRecord
from debates.protocol import scoreboard
from debates.tournament_result import Compared, Key, TournamentProgress, TournamentProtocol, TournamentResult
from scoring import pairing, ratings
from scoring.rubric import Rubric
from store import rankings
from store import tournaments as store

__all__ = ["Dispatch", "TournamentRunner"]

# how comparisons are asked: TournamentRunner.compare in this process, or a job queue (debates/queue.py)
Dispatch = Callable[
    ["TournamentRunner", store.StoredHypothesis, store.StoredHypothesis, int, tuple[DebateDigest, ...]],
    Awaitable[Compared],
]


@dataclass
class _Play:
    """One run's matches: the pool's current versions in the schedule's starting order, what the judge reads of
    each, the comparisons found (stored before or judged now), the models that served them, and what failed."""

    versions: list[store.StoredHypothesis]
    digests: dict[str, DebateDigest]
    order: list[str]
    done: dict[Key, ratings.Comparison]
    models: set[str]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (comparison id, reason)
    gave_up: set[pairing.Pair] = field(default_factory=set)  # pairs with a failed comparison: not scheduled again

    @property
    def hashes(self) -> dict[str, str]:
        return {v.id: v.content_hash for v in self.versions}

    def shown(self, key: Key) -> tuple[store.StoredHypothesis, store.StoredHypothesis, int, tuple[DebateDigest, ...]]:
        """What judge k is shown for `key`: the two versions in order and their digests."""
        first, second, k = key
        by_id = {v.id: v for v in self.versions}
        return by_id[first], by_id[second], k, (self.digests[first], self.digests[second])


@dataclass
class TournamentRunner:
    """Runs a pool's tournament. Everything it depends on is given when it is built, by keyword, including how
    comparisons are asked (`dispatch`: None asks them here, else e.g. `debates.queue.queued_comparisons`); nothing
    is altered after."""

    client: LLMClient
    sessions: sessionmaker[Session]
    rubric: Rubric
    prompts: PromptSet
    judges: int = 1
    concurrency: int = 8
    budget_usd: float | None = None
    progress: Callable[[TournamentProgress], None] | None = None
    digests: bool = True  # False: the judge compares the stated hypotheses alone, whatever debates are stored
    dispatch: Dispatch | None = None  # None: compare here; else e.g. through the job queue

    def __post_init__(self) -> None:
        if self.judges < 1:
            raise ValueError(f"a tournament needs at least 1 judge, got {self.judges}")
        llm = self.client.settings
        embedded = llm.resolved_provider == "embedded"
        caps = llm.embedded.verdict_caps.reasoning if embedded else CAPS["reasoning"]
        self.judge = PairwiseJudge(self.client, self.prompts, self.rubric, reasoning_cap=caps)
        panel = (EMBEDDED_MODEL,) if embedded else tuple(llm.models.judges) or (llm.models.judge,)
        self.protocol = TournamentProtocol(
            rubric_hash=self.rubric.hash,
            prompt_hash=self.judge.prompt_hash,
            provider=llm.resolved_provider,
            judge_models=panel,
            temperature=llm.temperature["judge"],
            reasoning_cap=caps,
            digests=self.digests,
        )
        # budgets cap the whole command's spending (an eval's arms together), as BatchRunner's do; the calls kept are
        # this runner's comparisons' (not a worker's debates')
        self.account = Account(self.client.ledger, on_call=self._report)
        self.account.attach()

    def detach(self) -> None:
        self.account.detach()

    async def run(self, pool: str, hypothesis_ids: Sequence[str], *, matches: int | None = None) -> TournamentResult:
        """Compare the current versions of `hypothesis_ids` (the pool `pool`: page:<slug>, batch:<id>, ...) and
        refit the pool's ratings. `matches`: most matches (a pair judged in both orders by one judge) in all,
        those stored before included; default: every pair up to 12 hypotheses, else about 2·n·log2(n) pairs
        (`scoring.pairing.default_budget`)."""
        started = time.monotonic()
        self.account.start()  # this run's spending is what the ledger counts after this
        with self.sessions() as session:
            play, rubric_board, rubric_ranked = self._load(session, hypothesis_ids)
        n = len(play.order)
        budget = pairing.default_budget(n) if matches is None else max(0, -(-matches // self.judges))
        schedule = pairing.Schedule(order=play.order, budget=budget)
        self._asked, self._failed, self._planned = 0, 0, 0
        self._budget_hit = False
        slots = asyncio.Semaphore(self.concurrency)
        try:
            # a killed run's half-judged pairs first, then the schedule's rounds until it has nothing to add
            await self._play(play, sorted(_touched(play.done) - self._played(play)), slots)
            while not self._budget_hit:
                pairs = schedule.next_round(self._played(play) | play.gave_up, _strengths(play.order, play.done))
                if not pairs:
                    break
                await self._play(play, pairs, slots)
                self._save(pool, play)
        finally:
            self._on_step("")
        tournament_id, board = self._save(pool, play)
        judged = list(play.done.values())
        fitted = ratings.fit(play.order, judged) if judged else None
        found = ratings.matches(judged)
        return TournamentResult(
            pool=pool,
            protocol=self.protocol,
            tournament_id=tournament_id,
            board=board,
            ratings=fitted.ratings if fitted is not None else [],
            first_advantage=fitted.first_advantage if fitted is not None else None,
            titles={v.id: v.title for v in play.versions},
            comparisons=len(judged),
            matches=len(found),
            order_inconsistency=ratings.order_inconsistency(found),
            first_share=ratings.first_position_share(judged),
            rubric_board=rubric_board,
            rubric_order=[r.id for r in rubric_ranked],
            rubric_scores={r.id: r.score for r in rubric_ranked},
            asked=self._asked,
            failures=play.failures,
            **self.account.spent().run_columns(),
            wall_s=time.monotonic() - started,
            budget_exhausted=self._budget_hit,
        )

    def _load(
        self, session: Session, hypothesis_ids: Sequence[str]
    ) -> tuple[_Play, rankings.Board | None, list[rankings.Ranked]]:
        """The pool's current versions and digests, the comparisons stored before, and the pool's rubric ranking
        (the schedule's starting order: ranked ones best first, then the rest by id)."""
        versions = store.current_versions(session, sorted(set(hypothesis_ids)))
        rubric_board, rubric_ranked = _rubric_ranking(session, [v.id for v in versions])
        stored = store.comparisons_among(session, self.protocol.hash, [v.content_hash for v in versions])
        ranked = [r.id for r in rubric_ranked]
        play = _Play(
            versions=versions,
            digests=self.digests_of(session, versions),
            order=ranked + sorted({v.id for v in versions} - set(ranked)),
            done={
                (r.first_id, r.second_id, r.judge): ratings.Comparison(r.first_id, r.second_id, r.preferred, r.judge)
                for r in stored
            },
            models={row.model for row in stored},
        )
        return play, rubric_board, rubric_ranked

    async def _play(self, play: _Play, pairs: Sequence[pairing.Pair], slots: asyncio.Semaphore) -> None:
        """Judge every comparison of `pairs` not found yet, `concurrency` at a time. Grouped by the hypothesis shown
        first: consecutive prompts then open alike, and a server that reuses a cached prompt prefix (llama.cpp: the
        embedded model) reads hypothesis A and its digest once."""
        keys = sorted(key for pair in pairs for key in self._keys(pair) if key not in play.done)
        self._planned += len(keys)
        self._report()
        await asyncio.gather(*(self._judge(play, key, slots) for key in keys))

    async def _judge(self, play: _Play, key: Key, slots: asyncio.Semaphore) -> None:
        """One comparison, unless the budget is spent: asked here or dispatched, and counted as it lands."""
        first, second, k = key
        async with slots:
            if self.account.over_budget(usd=self.budget_usd):
                self._budget_hit = True
                return
            self._on_step(f"{first} vs {second} (judge {k})")
            shown = play.shown(key)
            found = await (self.compare(*shown) if self.dispatch is None else self.dispatch(self, *shown))
        if found.comparison is None:
            play.failures.append((found.id, found.reason or "no answer"))
            play.gave_up.add(_pair(first, second))
            self._failed += 1
        else:
            play.done[key] = found.comparison
            play.models.add(found.model or "")
            self._asked += 1
        self._report()

    def _played(self, play: _Play) -> set[pairing.Pair]:
        """Pairs every judge has compared in both orders."""
        return {p for p in _touched(play.done) if all(key in play.done for key in self._keys(p))}

    def digests_of(self, session: Session, versions: Sequence[store.StoredHypothesis]) -> dict[str, DebateDigest]:
        """What the judge reads of each version's newest debate (empty ones when `digests` is off)."""
        held = [(v.id, v.content_hash) for v in versions] if self.digests else []
        debates = store.newest_debates(session, held)
        return {v.id: stored_digest(debates.get((v.id, v.content_hash))) for v in versions}

    async def compare(
        self, first: store.StoredHypothesis, second: store.StoredHypothesis, k: int, digests: tuple[DebateDigest, ...]
    ) -> Compared:
        """Judge k's comparison of `first` (shown first) with `second`, asked and stored with the calls it cost. A
        comparison that failed before is asked afresh (new draws); one that fails now is returned with its reason."""
        cid = store.comparison_id(first.content_hash, second.content_hash, self.protocol.hash, k)
        self.account.open(cid)  # the calls from here on are this comparison's
        with self.sessions() as session:
            spent = store.calls_made(session, cid)
        try:
            found = await self.judge.compare(
                first,
                second,
                digests[0],
                digests[1],
                judge=k,
                model=self.protocol.model(k),
                draw_key=cid if not spent else f"{cid}/{spent}",
            )
        except (TurnFailed, LLMError) as exc:
            reason = exc.reason if isinstance(exc, TurnFailed) else f"{type(exc).__name__}: {exc}"
            with self.sessions() as session:
                store.add_usage_commit(session, self._usage_rows(cid))
            return Compared(cid, None, None, reason)
        hashes = {first.id: first.content_hash, second.id: second.content_hash}
        with self.sessions() as session:
            row = self._row(cid, first.id, second.id, k, hashes, found)
            store.add_comparison_commit(session, row, self._usage_rows(cid))
        comparison = ratings.Comparison(first.id, second.id, found.preferred, k)
        return Compared(cid, comparison, found.record.served_model)

    # -- storing ---------------------------------------------------------------------------------------------------

    def _keys(self, pair: pairing.Pair) -> list[Key]:
        a, b = pair
        return [key for k in range(1, self.judges + 1) for key in ((a, b, k), (b, a, k))]

    def _row(
        self, cid: str, first: str, second: str, k: int, hashes: dict[str, str], found: Judgement
    ) -> dict[str, Any]:
        record: CallRecord = found.record
        return {
            "id": cid,
            "protocol_hash": self.protocol.hash,
            "judge": k,
            "first_id": first,
            "first_hash": hashes[first],
            "second_id": second,
            "second_hash": hashes[second],
            "preferred": found.preferred,
            "dimensions": found.dimensions,
            "confidence": found.confidence,
            "reasoning": found.reasoning,
            "prompt_hash": found.prompt_hash,
            "protocol": self.protocol.as_dict(),
            **record.answer_columns(),
            "asks": found.asks,
        }

    def _save(self, pool: str, play: _Play) -> tuple[str | None, rankings.Board | None]:
        """Refit the pool's ratings from every stored comparison and store them on the tournament's scoreboard."""
        judged = list(play.done.values())
        if not judged:
            return None, None
        fitted = ratings.fit(play.order, judged)
        found = ratings.matches(judged)
        spec = scoreboard(self.rubric.hash, self.protocol.hash, self.protocol.as_dict(), play.models)
        stats = store.TournamentStats(
            hypotheses=len(play.order),
            comparisons=len(judged),
            matches=len(found),
            order_inconsistency=ratings.order_inconsistency(found),
            first_share=ratings.first_position_share(judged),
            first_advantage=fitted.first_advantage,
        )
        hashes = play.hashes
        with self.sessions() as session:
            records = [store.Rating.fitted(r, hashes[r.id]) for r in fitted.ratings]
            t_id = store.save_ratings_commit(session, pool, spec, stats, records)
            board = rankings.board(session, spec.id)
        return t_id, board

    # -- accounting and progress -----------------------------------------------------------------------------------

    def _usage_rows(self, cid: str) -> list[dict[str, object]]:
        calls = self.account.close(cid)
        return [r.usage_row(batch_id=None, debate_id=cid, role="pairwise", step="compare") for r in calls]

    def _on_step(self, step: str) -> None:
        self._step = step
        self._report()

    def _report(self) -> None:
        if self.progress is None or not hasattr(self, "_planned"):
            return
        spent = self.account.spent()
        counts = (self._planned, self._asked, self._failed)
        self.progress(
            TournamentProgress(*counts, spent.calls, spent.tokens, spent.cost_usd, getattr(self, "_step", ""))
        )


def _pair(a: str, b: str) -> pairing.Pair:
    return (a, b) if a < b else (b, a)


def _touched(done: dict[Key, ratings.Comparison]) -> set[pairing.Pair]:
    return {_pair(first, second) for first, second, _ in done}


def _strengths(order: Sequence[str], done: dict[Key, ratings.Comparison]) -> dict[str, tuple[float, float]] | None:
    if not done:
        return None
    theta, se = ratings.strengths(order, list(done.values()))
    return {i: (float(t), float(s)) for i, t, s in zip(order, theta, se, strict=True)}


def stored_digest(debate: store.StoredDebate | None) -> DebateDigest:
    """What a reader of a stored debate takes from it (the pairwise judge, evolution): its digest; empty for none."""
    if debate is None:
        return DebateDigest()
    transcript = [PriorTurn(role, step, round_, text, payload) for step, role, round_, text, payload in debate.turns]
    return digest(transcript, [JudgeNote(summary, rationales) for summary, rationales in debate.verdicts])


def _rubric_ranking(session: Session, ids: Sequence[str]) -> tuple[rankings.Board | None, list[rankings.Ranked]]:
    """The pool's rubric ranking on the scoreboard holding most of its debates (where the schedule starts)."""
    boards = rankings.scoreboards(session, ids)
    if not boards:
        return None, []
    return boards[0], rankings.ranking(session, boards[0].id, ids)
