"""Grammar-constrained sampling for the embedded model, checked on the sampled token first.

llama-cpp-python puts the grammar at the head of its sampler chain, so every generated token first tests all
49,152 vocabulary entries against the grammar (about 8 ms a token on one core: a quarter of a verdict's time).
llama.cpp's own sampler (common/sampling.cpp) does it the other way round, as this does: sample with the chain alone,
test that one token against the grammar, and only when the grammar rejects it (about 1 token in 7 here) mask the
whole vocabulary and sample again. Every token kept is one the grammar accepts, so answers stay schema-valid.

`install()` makes llama_cpp.Llama build this sampler whenever a request carries a grammar (tool calls, JSON
schemas); it refuses (returns False) on a llama-cpp-python whose sampler hook differs from the one it was written for.
"""

from __future__ import annotations

import ctypes
import inspect
import math
from typing import Any

import numpy as np

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class GrammarChecked:
    """A sampler with the `sample(ctx, idx)` of llama-cpp-python's LlamaSampler: the chain (`chain`, without the
    grammar) picks a token; the grammar checks that one token and, when it refuses it, the whole vocabulary."""

    def __init__(self, llama_cpp: Any, chain: Any, model: Any, grammar: Any) -> None:
        self._lib = llama_cpp
        self._chain = chain  # kept alive: it owns the chain's samplers
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(model.vocab))
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self.sampled = 0
        self.rejected = 0

    def sample(self, ctx: Any, idx: int) -> int:
        lib = self._lib
        token = int(lib.llama_sampler_sample(self._chain.sampler, ctx.ctx, idx))  # the chain accepts it
        self.sampled += 1
        if not self._accepts(token):
            self.rejected += 1
            token = self._resample(ctx, idx)
            lib.llama_sampler_accept(self._chain.sampler, token)
        lib.llama_sampler_accept(self._grammar, token)
        return token

    def _accepts(self, token: int) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 0.0, 0.0
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        return not math.isinf(self._one[0].logit)

    def _resample(self, ctx: Any, idx: int) -> int:
        """Mask what the grammar refuses among all tokens, then let the chain choose among the rest."""
        lib = self._lib
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        data = (lib.llama_token_data * self._n_vocab)()
        view = np.frombuffer(data, dtype=_TOKEN_DATA)
        view["id"] = np.arange(self._n_vocab, dtype=np.int32)
        view["logit"] = logits
        view["p"] = 0.0
        candidates = lib.llama_token_data_array(data=data, size=self._n_vocab, selected=-1, sorted=False)
        lib.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates))
        return int(candidates.data[candidates.selected].id)

    def close(self) -> None:
        if self._grammar is not None:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        self.close()


def install() -> bool:
    """Make llama_cpp.Llama sample grammar-constrained requests with `GrammarChecked`; False (nothing changed) when
    this llama-cpp-python has no `Llama._init_sampler(..., grammar=...)` to hook."""
    import llama_cpp

    llama = llama_cpp.Llama
    original = getattr(llama, "_init_sampler", None)
    if original is None or getattr(original, "grammar_checked", False):
        return original is not None
    if "grammar" not in inspect.signature(original).parameters:
        return False

    def init_sampler(self: Any, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        chain = original(self, *args, grammar=None, **kwargs)
        return chain if grammar is None else GrammarChecked(llama_cpp, chain, self._model, grammar)

    init_sampler.grammar_checked = True  # type: ignore[attr-defined]
    llama._init_sampler = init_sampler
    return True
