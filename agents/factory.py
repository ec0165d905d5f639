"""Build the right client for the configured provider."""

from __future__ import annotations

from agents.client import LLMClient
from agents.settings import LLMSettings
from agents.usage import Ledger


def make_client(settings: LLMSettings, *, ledger: Ledger | None = None) -> LLMClient:
    """`embedded` runs SmolLM2 in-process; `openai` talks to `base_url` (default: api.openai.com)."""
    if settings.resolved_provider == "embedded":
        from agents.embedded import BASE_URL, http_client  # llama.cpp's server side: for the embedded model only

        # llama.cpp computes one request at a time: queueing here keeps timeouts about compute, not waiting.
        embedded = settings.model_copy(
            update={"provider": "embedded", "base_url": BASE_URL, "api_key": None, "concurrency": 1}
        )
        return LLMClient(embedded, http_client=http_client(settings.embedded, settings.timeout_s), ledger=ledger)
    return LLMClient(settings, ledger=ledger)
