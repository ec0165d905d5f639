"""Where the embedded model's time goes: one real debate's six calls, replayed under each setting.

    .venv/bin/python -m bench.embedded_speed                      # the four settings below, one thread
    .venv/bin/python -m bench.embedded_speed --threads 1 2        # and each at 2 threads
    .venv/bin/python -m bench.embedded_speed --repeat 2           # each setting twice, interleaved

bench/data/embedded_debate_requests.jsonl holds the requests one debate of the README's example sent to the
embedded model (opening, critique, rebuttal, closing, two verdicts: the messages, tool schema, seed and sampling
settings, as llama-cpp-python's server received them). Each setting loads the model as `agents.embedded` does and
sends the six in order, so each call reuses the previous call's prompt prefix as in a real debate. llama.cpp's own
counters split each call into reading the prompt (tokens evaluated, after the reused prefix) and generating
(tokens decoded); the rest of the wall time is sampling (the grammar) and llama-cpp-python's own work.

Settings: the wheel's Q4_1 weights or their Q8_0 requantization (`llm.embedded.weights`), and the grammar checked
against the whole vocabulary at every token (llama-cpp-python's own sampler) or on the sampled token first
(agents/grammar_sampling.py). A different sampler or weights draws different tokens, so the answers differ in
length: compare the per-token figures, and the wall time per debate with that in mind. Run it on a quiet machine:
another busy process on the same cores distorts everything, and 2 threads the most.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import print_table

REQUESTS = Path(__file__).with_name("data") / "embedded_debate_requests.jsonl"


@dataclass(frozen=True)
class Replay:
    setting: str
    wall_s: float
    prompt_tokens: int  # evaluated: after the prefix each call reused
    prompt_s: float
    generated: int
    generate_s: float
    completions: list[int]

    @property
    def other_s(self) -> float:
        return self.wall_s - self.prompt_s - self.generate_s


def replay(weights: str, checked: bool, threads: int, requests: list[dict[str, Any]]) -> Replay:
    import llama_cpp

    from agents import grammar_sampling
    from agents.embedded import weights_path

    original = llama_cpp.Llama._init_sampler
    if checked:
        grammar_sampling.install()
    try:
        llm = llama_cpp.Llama(
            str(weights_path(weights)),
            n_threads=threads,
            n_threads_batch=threads,
            n_ctx=8192,
            n_batch=128,
            n_ubatch=128,
            verbose=False,
        )
        prompt_ms = generate_ms = 0.0
        prompt_tokens = generated = 0
        completions = []
        started = time.perf_counter()
        for request in requests:
            llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
            answer = llm.create_chat_completion(**request)
            counters = llama_cpp.llama_perf_context(llm._ctx.ctx)
            prompt_ms += counters.t_p_eval_ms
            generate_ms += counters.t_eval_ms
            prompt_tokens += counters.n_p_eval
            generated += counters.n_eval
            completions.append(answer["usage"]["completion_tokens"])
        wall = time.perf_counter() - started
    finally:
        llama_cpp.Llama._init_sampler = original
    grammar = "checked first" if checked else "whole vocabulary"
    setting = f"{weights} · grammar {grammar} · {threads} thread{'s' if threads > 1 else ''}"
    return Replay(setting, wall, prompt_tokens, prompt_ms / 1000, generated, generate_ms / 1000, completions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    requests = [json.loads(line) for line in REQUESTS.read_text().splitlines() if line.strip()]
    settings = [(w, c, t) for t in args.threads for w in ("q4_1", "q8_0") for c in (False, True)]
    results = [replay(w, c, t, requests) for _ in range(args.repeat) for w, c, t in settings]
    base = results[0]
    rows = []
    for r in results:
        rows.append(
            (
                r.setting,
                f"{r.wall_s:.1f}",
                f"{base.wall_s / r.wall_s:.2f}x",
                f"{r.prompt_tokens:,}",
                f"{1000 * r.prompt_s / max(r.prompt_tokens, 1):.1f}",
                f"{r.generated:,}",
                f"{1000 * r.generate_s / max(r.generated, 1):.1f}",
                f"{1000 * r.other_s / max(r.generated, 1):.1f}",
                " ".join(map(str, r.completions)),
            )
        )
    print_table(
        f"One debate's {len(requests)} calls on the embedded model, replayed",
        [
            "setting",
            "wall s",
            "speed-up",
            "prompt tokens read",
            "ms/prompt token",
            "tokens generated",
            "ms/generated token",
            "sampling ms/token",
            "completion tokens per call",
        ],
        rows,
        left={"setting", "completion tokens per call"},
        width=200,
        caption="speed-up: against the first row; sampling: the wall time neither reading nor generating, per token",
    )


if __name__ == "__main__":
    main()
