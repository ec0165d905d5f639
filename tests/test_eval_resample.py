"""The eval's bootstrap resamples clusters, not rows (scoring/resample.py), its ECE comes with a noise floor, and
calibration bins print as written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from debates.labelled import clusters_of, load_labelled
from scoring.evaluation import auroc, calibration, calibration_error, histogram, pairwise_accuracy
from scoring.resample import calibrated_ece, cluster_weights, weighted_auroc

DEV = Path(__file__).resolve().parents[1] / "examples" / "eval"


def test_a_resample_draws_both_members_of_a_pair_together():
    clusters = [f"pair{k // 2}" for k in range(40)]  # rows 2k and 2k+1 form pair k
    labels = [1, 0] * 20
    weights = cluster_weights(clusters, labels=labels, resamples=300, seed=1)
    assert weights.shape == (300, 40)
    assert np.array_equal(weights[:, 0::2], weights[:, 1::2])  # each pair drawn whole, as often as each other
    assert np.all(weights.sum(axis=1) == 40)  # 20 pairs drawn in each resample
    assert len({tuple(w) for w in weights}) > 250  # and the resamples differ


def test_clusters_of_unequal_size_come_whole_and_rows_alone_keep_both_class_sizes():
    genes = ["A"] * 5 + ["B"] * 2 + ["C"] + ["D"] * 3
    labels = [1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0]
    weights = cluster_weights(genes, labels=labels, resamples=200, seed=2)
    for gene in set(genes):
        members = [i for i, g in enumerate(genes) if g == gene]
        assert np.all(weights[:, members] == weights[:, members[:1]])
    alone = cluster_weights(None, labels=[1] * 7 + [0] * 13, resamples=200, seed=3)
    assert np.all(alone[:, :7].sum(axis=1) == 7) and np.all(alone[:, 7:].sum(axis=1) == 13)
    with pytest.raises(ValueError, match="differ in length"):
        cluster_weights(genes, labels=labels[:3], resamples=10, seed=0)


def test_the_weighted_auroc_of_unit_weights_is_sklearns_ties_counting_half():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 60)
    scores = np.round(rng.random(60), 1)  # many ties
    plain = weighted_auroc(labels, scores, np.ones((1, 60)))
    assert plain[0] == pytest.approx(roc_auc_score(labels, scores))


def test_duplicated_rows_do_not_narrow_the_interval_when_they_are_one_cluster():
    """Each row twice: a row bootstrap takes the copies as new evidence (about 1/√2 as wide); the cluster
    bootstrap, each row's copies one cluster, is as wide as on the rows once."""
    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1], 60)
    scores = 1 / (1 + np.exp(-(0.8 * labels + rng.standard_normal(120))))
    once = auroc(labels, scores, seed=0, resamples=2000)
    twice = (np.tile(labels, 2), np.tile(scores, 2))
    rows = auroc(*twice, seed=0, resamples=2000)
    clustered = auroc(*twice, seed=0, resamples=2000, clusters=list(range(120)) * 2)

    def width(e):
        return e.hi - e.lo

    assert clustered.value == once.value == rows.value
    assert width(clustered) == pytest.approx(width(once), rel=0.12)
    assert width(rows) == pytest.approx(width(once) / np.sqrt(2), rel=0.12)
    ece_rows = calibration_error(*twice, seed=0, resamples=2000)
    ece_clustered = calibration_error(*twice, seed=0, resamples=2000, clusters=list(range(120)) * 2)
    assert width(ece_clustered) > 1.2 * width(ece_rows)


def test_pairwise_accuracy_resamples_the_pairs_clusters():
    wins = np.array([0.9] * 10 + [0.1] * 10)
    losses = np.full(20, 0.5)
    alone = pairwise_accuracy(wins, losses, seed=0, resamples=2000)
    grouped = pairwise_accuracy(wins, losses, seed=0, resamples=2000, clusters=[k % 2 for k in range(10)] * 2)
    assert alone.value == grouped.value == 0.5
    assert grouped.hi - grouped.lo < alone.hi - alone.lo  # two clusters, each holding a win and a loss alike


def test_the_files_clusters_are_biodsa_pairs_and_target_genes():
    rows = load_labelled([DEV / "biodsa_hypotheses.dev.jsonl", DEV / "target_disease_outcomes.dev.jsonl"])
    clusters = clusters_of(rows)
    biodsa = {c for r, c in zip(rows, clusters, strict=True) if r.dataset.startswith("biodsa")}
    targets = {c for r, c in zip(rows, clusters, strict=True) if r.dataset.startswith("target")}
    assert len(biodsa) == 469 and len(targets) == len({r.subject.targets[0] for r in rows if r.subject.targets})
    by_row = {r.row.id: c for r, c in zip(rows, clusters, strict=True)}
    assert by_row["25855536_0_true"] == by_row["25855536_0_false"] != by_row["25855536_1_true"]
    nr3c1 = {c for r, c in zip(rows, clusters, strict=True) if r.subject.targets == ["NR3C1"]}
    assert nr3c1 == {"target_disease_outcomes.dev:gene:NR3C1"}


def test_a_calibrated_score_at_n_120_has_the_noise_floor_the_issue_measured():
    """Uniform scores, labels drawn as Bernoulli(score): ECE 0.090 on average, 95th percentile 0.133 at n = 120
    (issue 25's simulation, with fresh scores each draw; these are fixed scores, so the floor is a little lower)."""
    scores = np.random.default_rng(6).random(120)
    draws = calibrated_ece(scores, draws=4000, seed=0)
    assert draws.mean() == pytest.approx(0.090, abs=0.006)
    assert np.quantile(draws, 0.95) == pytest.approx(0.133, abs=0.01)
    labels = (np.random.default_rng(7).random(120) < scores).astype(int)
    estimate = calibration_error(labels, scores, seed=0, resamples=2000)
    assert estimate.floor == pytest.approx(np.quantile(calibrated_ece(scores, draws=2000, seed=0), 0.95))
    assert set(estimate.as_dict()) == {"value", "lo", "hi", "floor"}
    assert estimate.lo <= estimate.value <= estimate.hi


def test_bin_edges_print_as_written_and_a_score_on_an_edge_opens_its_bin():
    bins = calibration([1, 0, 1], [0.3, 0.7, 1.0])
    assert json.dumps([b.lo for b in bins]) == "[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]"
    assert [b.n for b in bins] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 1]  # 0.3 in [0.3, 0.4), 1.0 in the closed last bin
    assert "0.30000000000000004" not in json.dumps(histogram([1, 0, 1], [0.3, 0.7, 1.0]))
