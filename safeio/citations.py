"""The citation vocabulary every part shares: how a citation resolved against the imported bibliographies, and the
label the verifier gives a claim against its source's abstract.

It lives here, beside the helpers for untrusted text, because it is the one place every part may import: the roles
(agents/) tell the judges the audit's counts, the store keeps and reads the audit, and the report and the web app
show it. The audit itself is computed in evidence/; these names only say what its values may be."""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal["resolved", "miscited", "unresolved", "malformed", "fabricated"]  # of one citation
STATUSES: tuple[Status, ...] = get_args(Status)
Support = Literal["supports", "contradicts", "unrelated", "insufficient"]  # the verifier's label for one claim
SUPPORT_LABELS: tuple[Support, ...] = get_args(Support)
