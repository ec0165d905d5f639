"""The `evidence:` section of config.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvidenceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judges_see_audit: bool = Field(
        True,
        description="judges read the evidence audit (counts per status, made-up citations, contradicted claims); "
        "part of the debate protocol",
    )
    penalize: bool = Field(
        False, description="cap `penalty_dimension` at `penalty_cap` when a citation is made up or a claim contradicted"
    )
    penalty_dimension: str = "evidence_strength"
    penalty_cap: int = Field(2, ge=1, description="the highest score the penalised dimension may then keep")
    verify_before_debate: bool = Field(
        True,
        description="`run` checks the claims of the hypotheses' evidence against their sources' abstracts first "
        "(the verifier; only entries with an abstract cost a call), so the judges see contradicted claims",
    )
    online: bool = Field(
        False,
        description="look up PMIDs and DOIs the bibliographies lack on PubMed and Crossref (network; cached in the "
        "database)",
    )
    online_timeout_s: float = Field(10, gt=0)
    contact_email: str | None = Field(None, description="sent to PubMed and Crossref with online lookups, as they ask")
