"""SQLAlchemy 2.0 models: everything hypodebate persists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class HypothesisRow(Base):
    __tablename__ = "hypotheses"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(500))
    targets: Mapped[list[Any]] = mapped_column()
    target_label: Mapped[str] = mapped_column(String(300))
    mechanism: Mapped[str] = mapped_column(Text)
    diseases: Mapped[list[Any]] = mapped_column()
    pages: Mapped[list[Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current version's number
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    evidence: Mapped[list[EvidenceRow]] = relationship(
        back_populates="hypothesis", cascade="all, delete-orphan", order_by="EvidenceRow.position"
    )


class HypothesisVersionRow(Base):
    """One content of a hypothesis. New content under an existing id is a new version; a revision offered in a
    rebuttal is a child version (`parent_id`, `origin="revision"`). Debates count only for the version they
    debated (their `hypothesis_hash` is the version's `content_hash`)."""

    __tablename__ = "hypothesis_versions"
    __table_args__ = (
        UniqueConstraint("hypothesis_id", "content_hash", name="uq_version_content"),
        UniqueConstraint("hypothesis_id", "version", name="uq_version_number"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # h-2600483e.v2
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))  # input | revision | legacy
    parent_id: Mapped[str | None] = mapped_column(String(24))
    debate_id: Mapped[str | None] = mapped_column(String(16))  # for revisions: the debate that offered it
    # title, targets, target_label, mechanism, diseases, evidence; None for contents debated before versioning
    content: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreboardRow(Base):
    """What makes scores comparable: (rubric hash, protocol hash, judge models as the server named them).

    Rankings only ever compare hypotheses within one scoreboard. `legacy` marks scores stored before
    scoreboards existed (their judge models are the configured names, not the served ones)."""

    __tablename__ = "scoreboards"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # s- + 8 hex digits
    rubric_hash: Mapped[str] = mapped_column(String(16))
    protocol_hash: Mapped[str] = mapped_column(String(16))
    judge_models: Mapped[list[Any]] = mapped_column()
    demo: Mapped[bool] = mapped_column(default=False)
    legacy: Mapped[bool] = mapped_column(default=False)
    protocol: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HypothesisScoreRow(Base):
    """A hypothesis version's score on one scoreboard: the mean of its debates' panel means, with a 95% interval
    from the scoreboard's pooled variance model (`interval`: its kind, scoring.pooled; `se`, `df`: the score's
    standard error and the model's degrees of freedom, null when the board cannot be pooled or the row predates it).
    Every row of a scoreboard is recomputed when a debate on it completes."""

    __tablename__ = "hypothesis_scores"
    __table_args__ = (UniqueConstraint("scoreboard_id", "hypothesis_id", "content_hash", name="uq_hypothesis_score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scoreboard_id: Mapped[str] = mapped_column(ForeignKey("scoreboards.id"))
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(default=True)  # the version is the hypothesis's current one
    mean: Mapped[float] = mapped_column(Float)
    lo: Mapped[float | None] = mapped_column(Float)
    hi: Mapped[float | None] = mapped_column(Float)
    interval: Mapped[str] = mapped_column(String(24))
    se: Mapped[float | None] = mapped_column(Float)
    df: Mapped[float | None] = mapped_column(Float)
    debates: Mapped[int] = mapped_column(Integer)
    verdicts: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class EvidenceRow(Base):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("hypothesis_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    claim: Mapped[str] = mapped_column(Text)
    citation: Mapped[str | None] = mapped_column(String(300))
    stance: Mapped[str] = mapped_column(String(8))

    hypothesis: Mapped[HypothesisRow] = relationship(back_populates="evidence")


class BatchRow(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    protocol_hash: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[dict[str, Any]] = mapped_column()
    provider: Mapped[str] = mapped_column(String(32))
    models: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")
    debates_completed: Mapped[int] = mapped_column(Integer, default=0)
    debates_failed: Mapped[int] = mapped_column(Integer, default=0)
    debates_skipped: Mapped[int] = mapped_column(Integer, default=0)
    wall_s: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class DebateRow(Base):
    """One debate; its identity is (hypothesis content, protocol, replicate)."""

    __tablename__ = "debates"
    __table_args__ = (
        UniqueConstraint("hypothesis_hash", "protocol_hash", "replicate", name="uq_debate_identity"),
        Index("ix_debates_hypothesis_status", "hypothesis_id", "status"),
        Index("ix_debates_batch_status", "batch_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"))
    hypothesis_hash: Mapped[str] = mapped_column(String(64))
    protocol_hash: Mapped[str] = mapped_column(String(16))
    replicate: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # queued | running | completed | failed
    failure_reason: Mapped[str | None] = mapped_column(Text)
    failed_step: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    rounds_run: Mapped[int] = mapped_column(Integer, default=0)
    early_stopped: Mapped[bool] = mapped_column(default=False)
    revised_statement: Mapped[str | None] = mapped_column(Text)
    protocol: Mapped[dict[str, Any]] = mapped_column()
    rubric_hash: Mapped[str] = mapped_column(String(16))
    prompt_hashes: Mapped[dict[str, Any]] = mapped_column()
    models: Mapped[dict[str, Any]] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    turns: Mapped[list[TurnRow]] = relationship(order_by="TurnRow.seq", cascade="all, delete-orphan")
    verdicts: Mapped[list[VerdictRow]] = relationship(order_by="VerdictRow.judge", cascade="all, delete-orphan")


class OfDebate:
    """A row of one debate (a turn, a verdict): numbered by its own id, found by the debate's, deleted with it.
    Its two columns come first, as the migrations create them."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-2)
    debate_id: Mapped[str] = mapped_column(ForeignKey("debates.id", ondelete="CASCADE"), index=True, sort_order=-1)


class TurnRow(OfDebate, Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("debate_id", "seq", name="uq_turn_seq"),)

    seq: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16))  # opening | critique | rebuttal | verdict
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column()
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_s: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: unknown (the model has no price in llm.prices)
    attempts: Mapped[int] = mapped_column(Integer)  # HTTP requests this turn cost (re-asks and retries included)
    asks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # answers asked for; >1: re-asked
    cached_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    prompt_hash: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerdictRow(OfDebate, Base):
    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("debate_id", "judge", name="uq_verdict_judge"),)

    judge: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column()  # dimension -> integer 1..scale
    rationales: Mapped[dict[str, Any]] = mapped_column()  # dimension -> short text
    summary: Mapped[str] = mapped_column(Text)
    composite: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200))  # as the server named it
    persona: Mapped[str | None] = mapped_column(String(64))
    material_order: Mapped[str | None] = mapped_column(String(32))
    reasoning: Mapped[str | None] = mapped_column(Text)
    rubric_hash: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreRow(Base):
    """A debate's panel score: mean, spread and n of its judges' composites, on its scoreboard."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    debate_id: Mapped[str] = mapped_column(ForeignKey("debates.id", ondelete="CASCADE"), unique=True)
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    scoreboard_id: Mapped[str | None] = mapped_column(ForeignKey("scoreboards.id"), index=True)
    mean: Mapped[float] = mapped_column(Float)
    spread: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    rubric_hash: Mapped[str] = mapped_column(String(16))
    judge_models: Mapped[list[Any]] = mapped_column()
    prompt_hashes: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageRow(Base):
    """Every LLM call, successful or not."""

    __tablename__ = "usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(String(16), index=True)
    debate_id: Mapped[str | None] = mapped_column(String(16), index=True)
    role: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_s: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: unknown (the model has no price in llm.prices)
    ok: Mapped[bool] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    cached_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    command: Mapped[str | None] = mapped_column(String(32))  # run | eval | tournament | evidence | generate | ...
    step: Mapped[str | None] = mapped_column(String(32))  # opening | critique | rebuttal | verdict | ...


class EvalItemRow(Base):
    """A labelled row of an eval file: its real outcome (`label`), strata and pair, kept apart from the hypothesis
    it is debated as (`variant`: with its evidence, or without it), so the label never reaches a prompt."""

    __tablename__ = "eval_items"
    __table_args__ = (UniqueConstraint("dataset", "item_id", "variant", name="uq_eval_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200))  # the file's name without extension
    item_id: Mapped[str] = mapped_column(String(200))  # the row's own id, e.g. A2M-D002545
    variant: Mapped[str] = mapped_column(String(16))  # evidence | no-evidence
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[int] = mapped_column(Integer)  # 1 = the hypothesis held, 0 = it did not
    pair: Mapped[str | None] = mapped_column(String(200))
    strata: Mapped[dict[str, Any]] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column()  # highest_phase, year_launch, label_meaning, pmid, ...
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AnswerCost:
    """What a stored answer cost (a comparison, a claim check): its call(s)' tokens, latency, dollars, HTTP
    requests (`attempts`) and answers asked for (`asks`: more than 1 when it was re-asked)."""

    prompt_tokens: Mapped[int] = mapped_column(Integer, sort_order=10)
    completion_tokens: Mapped[int] = mapped_column(Integer, sort_order=10)
    latency_s: Mapped[float] = mapped_column(Float, sort_order=10)
    cost_usd: Mapped[float | None] = mapped_column(Float, sort_order=10)  # None: unknown (no price for the model)
    attempts: Mapped[int] = mapped_column(Integer, sort_order=10)
    asks: Mapped[int] = mapped_column(Integer, sort_order=10)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=10)
    cached_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0", sort_order=10)


class ComparisonRow(AnswerCost, Base):
    """One pairwise judgement: which of two hypothesis versions, shown in this order, a judge preferred. Its id is
    a hash of (first version, second version, tournament protocol, judge), so it is asked once, ever."""

    __tablename__ = "comparisons"
    __table_args__ = (Index("ix_comparisons_protocol", "protocol_hash", "first_hash", "second_hash"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # c- + 10 hex digits
    protocol_hash: Mapped[str] = mapped_column(String(16))
    judge: Mapped[int] = mapped_column(Integer)  # which judge of the tournament (its replicate)
    first_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    first_hash: Mapped[str] = mapped_column(String(64))
    second_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    second_hash: Mapped[str] = mapped_column(String(64))
    preferred: Mapped[str] = mapped_column(String(8))  # first | second | tie
    dimensions: Mapped[dict[str, Any]] = mapped_column()  # rubric dimension -> first | second | tie
    confidence: Mapped[str] = mapped_column(String(8))  # low | medium | high
    reasoning: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))  # as the server named it
    prompt_hash: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[dict[str, Any]] = mapped_column()


class TournamentRow(Base):
    """A pool's ratings on one scoreboard (rubric, tournament protocol, judge models as served), refitted from
    every stored comparison among the pool's versions each time the tournament runs."""

    __tablename__ = "tournaments"
    __table_args__ = (UniqueConstraint("pool", "scoreboard_id", name="uq_tournament_pool_board"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # t- + 8 hex digits of (pool, scoreboard)
    pool: Mapped[str] = mapped_column(String(300), index=True)  # page:<slug> | batch:<b-id> | file:<name> | ...
    scoreboard_id: Mapped[str] = mapped_column(ForeignKey("scoreboards.id"))
    hypotheses: Mapped[int] = mapped_column(Integer)
    comparisons: Mapped[int] = mapped_column(Integer)
    matches: Mapped[int] = mapped_column(Integer)
    # share of matches whose two orders disagreed (the column keeps its first name, position_bias)
    order_inconsistency: Mapped[float | None] = mapped_column("position_bias", Float)
    first_share: Mapped[float | None] = mapped_column(Float)  # of decided comparisons, the share won by the first
    first_share_lo: Mapped[float | None] = mapped_column(Float)  # its 95% interval (null: stored before 0011)
    first_share_hi: Mapped[float | None] = mapped_column(Float)
    first_advantage: Mapped[float | None] = mapped_column(Float)  # fitted first-position parameter, rating points
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    ratings: Mapped[list[RatingRow]] = relationship(
        order_by="RatingRow.position", cascade="all, delete-orphan", passive_deletes=True
    )


class RatingRow(Base):
    """A hypothesis version's Bradley-Terry rating in one tournament, on an Elo-like scale, with a 95% interval and
    the range of ranks the fit allows it (rank_lo best, rank_hi worst; `scoring.ranks`)."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("tournament_id", "hypothesis_id", name="uq_rating_hypothesis"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[str] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    # its place in the saved order, best rating first (the column keeps its first name, rank): not a rank, which
    # is rank_lo..rank_hi
    position: Mapped[int] = mapped_column("rank", Integer)
    rank_lo: Mapped[int]  # Integer, by its annotation (as wins, ties and losses)
    rank_hi: Mapped[int]
    rating: Mapped[float] = mapped_column(Float)
    lo: Mapped[float] = mapped_column(Float)
    hi: Mapped[float] = mapped_column(Float)
    wins: Mapped[int]
    ties: Mapped[int]
    losses: Mapped[int]


class BibEntryRow(Base):
    """A bibliography entry (`hypodebate bib import`, a page's References section, or an online resolver's
    answer), under its citation key. Re-importing a key updates it; `content_hash` says whether it changed."""

    __tablename__ = "bib_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column()  # "Family, Given" in order
    more_authors: Mapped[bool] = mapped_column(default=False)  # the source listed "and others"
    year: Mapped[int | None] = mapped_column(Integer)
    journal: Mapped[str | None] = mapped_column(String(500))
    doi: Mapped[str | None] = mapped_column(String(300), index=True)  # lower case, no resolver prefix
    pmid: Mapped[str | None] = mapped_column(String(16), index=True)
    pmcid: Mapped[str | None] = mapped_column(String(16))
    nct: Mapped[str | None] = mapped_column(String(16), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))  # the file it came from, page:<slug>, pubmed or crossref
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClaimCheckRow(AnswerCost, Base):
    """The verifier's judgement of one (claim, source) pair: does the entry's abstract support the claim? Its id is
    a hash of (hypothesis statement, claim, entry content, verifier protocol), so it is asked once, ever.
    `label` is after the quote check: a quote not found in the abstract downgrades `raw_label` to insufficient."""

    __tablename__ = "claim_checks"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # v- + 10 hex digits
    entry_key: Mapped[str] = mapped_column(String(200), index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    claim: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))  # supports | contradicts | unrelated | insufficient
    raw_label: Mapped[str] = mapped_column(String(16))  # what the verifier answered
    quote: Mapped[str] = mapped_column(Text)
    quote_found: Mapped[bool] = mapped_column()
    reasoning: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))  # as the server named it
    prompt_hash: Mapped[str] = mapped_column(String(16))
    protocol_hash: Mapped[str] = mapped_column(String(16))


class CitationAuditRow(Base):
    """One citation of a hypothesis version, as audited: a claim of its evidence (`source="evidence"`) or a
    citation made in a debate turn (`source="turn"`), its resolution against the bibliographies and, where the
    entry has an abstract, the claim check. Recomputed whenever the audit runs (`hypodebate evidence`)."""

    __tablename__ = "citation_audits"
    __table_args__ = (Index("ix_citation_audits_version", "hypothesis_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)  # order within the hypothesis's audit
    source: Mapped[str] = mapped_column(String(8))  # evidence | turn
    debate_id: Mapped[str | None] = mapped_column(String(16))  # for turn citations
    turn_seq: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(16))  # who cited it in the turn
    claim: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # resolved | miscited | unresolved | malformed | fabricated
    detail: Mapped[str | None] = mapped_column(Text)  # what disagreed (miscited), what was expected (malformed)
    entry_key: Mapped[str | None] = mapped_column(String(200))
    check_id: Mapped[str | None] = mapped_column(String(16))  # the claim check, when there is one
    support: Mapped[str | None] = mapped_column(String(16))  # its label
    quote: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResolverCacheRow(Base):
    """An online resolver's answer (PubMed, Crossref) for one identifier, kept so it is asked once."""

    __tablename__ = "resolver_cache"

    resolver: Mapped[str] = mapped_column(String(16), primary_key=True)  # pubmed | crossref
    identifier: Mapped[str] = mapped_column(String(300), primary_key=True)  # a PMID or a DOI
    found: Mapped[bool] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column()  # the entry's fields when found
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class PageRow(Base):
    """A wiki page imported by `hypodebate pages import`; `entities` are canonical ids (GENE:..., DISEASE:...)."""

    __tablename__ = "pages"

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entities: Mapped[list[Any]] = mapped_column()
    source_path: Mapped[str] = mapped_column(Text)
    markdown: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LinkRow(Base):
    """Hypothesis ↔ entity (GENE:CYP46A1, DISEASE:alzheimers, PAGE:<slug>): what a page's related query walks."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("entity", "hypothesis_id", name="uq_link_entity_hypothesis"),
        Index("ix_links_entity", "entity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(200))
    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)


# The ranking order on one scoreboard (exchange, a page's related hypotheses): walked in order, it needs no sort.
Index(
    "ix_hypothesis_scores_rank",
    HypothesisScoreRow.scoreboard_id,
    HypothesisScoreRow.current,
    HypothesisScoreRow.mean.desc(),
    HypothesisScoreRow.debates.desc(),
    HypothesisScoreRow.hypothesis_id,
)


class GapRow(Base):
    """An open knowledge gap a page lists under "Related Analyses" (title, link): what `hypodebate generate --gap`
    and `--page` generate from. Its id is `g-` + 8 hex digits of (page, link or title), so a re-import keeps it."""

    __tablename__ = "page_gaps"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    page_slug: Mapped[str] = mapped_column(ForeignKey("pages.slug", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GenerationRunRow(Base):
    """One `hypodebate generate` loop: its source (page, gap or goal), the settings that make it (its id is a hash
    of both, so the same command resumes it), and how it ended (`stopped`: generations | budget | no-new |
    stable, with `stop_detail` in words). Calls, tokens and dollars are the loop's own calls (generation, evolution,
    meta-review, duplicate checks); the debates and comparisons keep theirs on their own rows."""

    __tablename__ = "generation_runs"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # r- + 8 hex digits
    source_kind: Mapped[str] = mapped_column(String(8))  # page | gap | goal
    source: Mapped[str] = mapped_column(Text)  # the page's slug, the gap's id, or the goal's words
    page_slug: Mapped[str | None] = mapped_column(String(200), index=True)  # the page its hypotheses join
    settings: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished
    stopped: Mapped[str | None] = mapped_column(String(16))
    stop_detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class GenerationRow(Base):
    """One generation of a run: how many of its hypotheses were debated, its tournament and that tournament's top
    hypotheses (`top`, best first). `status`: open until ranked and reviewed, then done."""

    __tablename__ = "generations"
    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_generation_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ...
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done
    debated: Mapped[int] = mapped_column(Integer, default=0)
    tournament_id: Mapped[str | None] = mapped_column(String(16))
    top: Mapped[list[Any]] = mapped_column(default=list)  # hypothesis ids, best first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetaReviewRow(AnswerCost, Base):
    """The meta-review of one generation's debates: the critique themes raised most often and what the judges
    rewarded (`review`), which the next generation's generator and evolution prompts read."""

    __tablename__ = "meta_reviews"
    __table_args__ = (UniqueConstraint("run_id", "generation", name="uq_meta_review"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-2)
    run_id: Mapped[str] = mapped_column(ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    review: Mapped[dict[str, Any]] = mapped_column()  # summary, weaknesses, rewarded
    debates: Mapped[list[Any]] = mapped_column()  # the debate ids it read
    model: Mapped[str] = mapped_column(String(200))
    prompt_hash: Mapped[str] = mapped_column(String(16))


class CandidateRow(AnswerCost, Base):
    """One generator or evolution answer of a run, stored as it lands (a killed run asks it again never): the
    hypothesis it proposed (`content`, kept whatever became of it), how it was made (`strategy`: grounded | gap |
    goal | combine | simplify | strengthen | out-of-box; `parents`), and its fate (`status`): `new` (it is
    `hypothesis_id`), `duplicate` (merged into `hypothesis_id`, with its `similarity` and `method`), or `invalid`
    (`reason`)."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("run_id", "generation", "slot", name="uq_candidate_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-2)
    run_id: Mapped[str] = mapped_column(ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)  # page:<slug> | gap:<g-id> | goal:<words> | evolve:<operator>
    parents: Mapped[list[Any]] = mapped_column(default=list)
    content: Mapped[dict[str, Any] | None] = mapped_column()  # title, targets, mechanism, diseases, evidence, ...
    reasoning: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | new | duplicate | invalid
    hypothesis_id: Mapped[str | None] = mapped_column(ForeignKey("hypotheses.id", ondelete="SET NULL"), index=True)
    similarity: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str | None] = mapped_column(String(32))  # identical | embedding | embedding+model-check
    reason: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))  # as the server named it
    prompt_hash: Mapped[str] = mapped_column(String(16))


class ProvenanceRow(Base):
    """Where a generated or evolved hypothesis came from: its origin, strategy, source, generator model (as served),
    prompt hash, run and generation. A hypothesis without one was imported (from a file or an eval set)."""

    __tablename__ = "provenance"

    hypothesis_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))  # generated | evolved
    strategy: Mapped[str] = mapped_column(String(16))
    source_kind: Mapped[str] = mapped_column(String(8))  # page | gap | goal
    source: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))
    prompt_hash: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str] = mapped_column(String(16), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineageRow(Base):
    """A parent of an evolved hypothesis (evolution adds children; parents stay)."""

    __tablename__ = "lineage"

    child_id: Mapped[str] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[str] = mapped_column(
        ForeignKey("hypotheses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
