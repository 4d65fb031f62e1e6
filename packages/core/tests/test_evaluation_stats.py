"""Evaluation statistics: BCa, paired tests, CV splits, calibration, fairness, robustness, OOD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from forge.core.errors import ConfigError, DataError
from forge.core.evaluator._calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability_diagram,
    reliability_table,
)
from forge.core.evaluator._fairness import subgroup_report
from forge.core.evaluator._robustness import corrupt, ood_auroc, perturb_tokens
from forge.core.evaluator._splits import kfold, stratified_kfold, time_series_splits
from forge.core.evaluator._stats import (
    bca_interval,
    mcnemar_test,
    paired_bootstrap,
    paired_effect_size,
    permutation_test,
)


def test_bca_agrees_with_scipy_on_a_skewed_sample() -> None:
    from scipy import stats

    x = np.random.default_rng(0).exponential(size=60)
    est, lo, hi = bca_interval(x, np.mean, resamples=4000, seed=1)
    ref = stats.bootstrap((x,), np.mean, n_resamples=4000, method="BCa", random_state=2).confidence_interval
    assert est == pytest.approx(x.mean())
    assert lo == pytest.approx(ref.low, rel=0.05) and hi == pytest.approx(ref.high, rel=0.05)
    # BCa shifts the interval towards the long tail, unlike a symmetric normal interval
    assert hi - est > est - lo
    assert bca_interval([1.0, 1.0, 1.0], resamples=200) == (1.0, 1.0, 1.0)
    with pytest.raises(DataError):
        bca_interval([1.0])
    with pytest.raises(ConfigError):
        bca_interval(x, confidence=1.5)


def test_paired_tests_see_a_real_difference_and_none_where_there_is_none() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.7).astype(float)
    b = a.copy()
    flip = rng.choice(400, 60, replace=False)
    b[flip] = 1.0  # b is right wherever a is, and on some more
    cmp = paired_bootstrap(a, b, resamples=1000)
    assert cmp.difference == pytest.approx(b.mean() - a.mean()) and cmp.lower > 0 and cmp.p_value < 0.01
    assert permutation_test(a, b, resamples=1000) < 0.01
    assert permutation_test(a, a, resamples=500) == 1.0
    same = paired_bootstrap(a, a, resamples=500)
    assert same.difference == 0.0 and same.p_value == 1.0
    only_a, only_b, p = mcnemar_test(a, b)
    assert only_a == 0 and only_b == int((b > a).sum()) and p == pytest.approx(2 * 0.5**only_b)
    d, lo, hi = paired_effect_size(a, b, resamples=500)
    assert d > 0 and lo <= d <= hi
    with pytest.raises(DataError, match="same examples"):
        paired_bootstrap(a, b[:10])


def test_kfold_and_stratified_folds_partition_the_data() -> None:
    folds = list(kfold(23, 5, seed=3))
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(23))
    assert all(np.intersect1d(tr, te).size == 0 and tr.size + te.size == 23 for tr, te in folds)
    y = np.array([0] * 30 + [1] * 12 + [2] * 6)
    for train, test in stratified_kfold(y, 3, seed=0):
        counts = np.bincount(y[test], minlength=3)
        assert (np.abs(counts - np.array([10, 4, 2])) <= 1).all()
        assert np.intersect1d(train, test).size == 0
    with pytest.raises(ConfigError, match="every class"):
        list(stratified_kfold(y, 7))


@pytest.mark.parametrize("mode", ["expanding", "sliding"])
def test_time_series_splits_never_look_ahead(mode: str) -> None:
    splits = list(time_series_splits(100, 4, mode=mode, gap=3, window=20))  # type: ignore[arg-type]
    assert len(splits) == 4
    for train, test in splits:
        assert train.max() + 3 < test.min()  # the gap
        assert test.size == 20
        if mode == "sliding":
            assert train.size == min(20, int(train.max()) + 1)  # the window, or all the history there is
    starts = [int(train.min()) for train, _ in splits]
    assert starts == [0, 0, 0, 0] if mode == "expanding" else starts == sorted(starts)
    with pytest.raises(ConfigError):
        list(time_series_splits(10, 9, gap=5))


def test_ece_matches_the_formula_on_a_hand_example() -> None:
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    labels = np.array([0, 1, 1, 1])
    # two bins of width 0.5: (0.5, 1.0] holds all four top confidences 0.9, 0.8, 0.7, 0.55
    ece = expected_calibration_error(probs, labels, n_bins=2)
    conf = (0.9 + 0.8 + 0.7 + 0.55) / 4
    assert ece == pytest.approx(abs(0.75 - conf))
    assert sum(r["count"] for r in reliability_table(probs, labels, 10)) == 4


def test_temperature_scaling_undoes_overconfidence(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    true_logits = torch.randn(3000, 5, generator=g) * 1.5
    labels = torch.multinomial(true_logits.softmax(-1), 1, generator=g).squeeze(1)
    hot = true_logits * 3.0
    t = fit_temperature(hot, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(hot.softmax(-1), labels)
    after = expected_calibration_error((hot / t).softmax(-1), labels)
    assert after < before / 3
    # a model at chance level has no finite optimum: the temperature stops at its bound
    chance = torch.randn(500, 10, generator=g) * 0.01
    assert fit_temperature(chance, torch.randint(0, 10, (500,), generator=g)) == pytest.approx(100.0)
    png = reliability_diagram((hot / t).softmax(-1), labels, tmp_path / "rel.png", title="scaled")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_subgroup_report_on_a_hand_example() -> None:
    pred = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    y = np.array([1, 0, 0, 1, 1, 0, 0, 1])
    group = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    report = subgroup_report(pred, y, group)
    a, b = report["groups"]["a"], report["groups"]["b"]
    assert (a["accuracy"], b["accuracy"]) == (0.5, 0.75)
    assert (a["selection_rate"], b["selection_rate"]) == (0.5, 0.75)
    assert (a["tpr"], a["fpr"], b["tpr"], b["fpr"]) == (0.5, 0.5, 1.0, 0.5)
    assert report["demographic_parity_difference"] == pytest.approx(0.25)
    assert report["equalized_odds_difference"] == pytest.approx(0.5)
    assert report["largest_gaps"]["accuracy"] == {"gap": 0.25, "max_group": "b", "min_group": "a"}


def test_corruptions_grow_with_severity_and_are_seeded() -> None:
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for name in ("gaussian_noise", "gaussian_blur", "contrast", "jpeg"):
        dist = [float((corrupt(x, name, s) - x).abs().mean()) for s in (1, 3, 5)]
        assert dist[0] < dist[1] < dist[2], name
        assert torch.equal(corrupt(x, name, 2, seed=5), corrupt(x, name, 2, seed=5))
        assert corrupt(x, name, 2).shape == x.shape
    flat = torch.full((1, 1, 8, 8), 0.4)
    assert torch.allclose(corrupt(flat, "gaussian_blur", 5), flat)
    assert torch.allclose(corrupt(flat, "jpeg", 1), flat, atol=0.03)
    with pytest.raises(ConfigError, match="severity"):
        corrupt(x, "contrast", 6)
    with pytest.raises(ConfigError, match="expected one of"):
        corrupt(x, "fog", 1)


def test_token_perturbations_spare_protected_ids() -> None:
    ids = torch.randint(5, 100, (8, 40), generator=torch.Generator().manual_seed(0))
    ids[:, -5:] = 0  # padding
    changed = []
    for severity in (1, 5):
        out = perturb_tokens(ids, severity, vocab_size=100, seed=1)
        assert (out[:, -5:] == 0).all() or severity > 1  # deletions may pull padding left, never invent ids
        changed.append(float((out != ids).float().mean()))
        assert torch.equal(out, perturb_tokens(ids, severity, vocab_size=100, seed=1))
    assert changed[0] < changed[1]


def test_ood_auroc() -> None:
    g = torch.Generator().manual_seed(0)
    confident = torch.randn(200, 10, generator=g) + 8 * torch.nn.functional.one_hot(
        torch.randint(0, 10, (200,), generator=g), 10
    )
    flat = torch.randn(200, 10, generator=g) * 0.1
    scores = ood_auroc(confident, flat)
    assert scores["msp"] > 0.99 and scores["energy"] > 0.99
    same = ood_auroc(flat, flat)
    assert same["msp"] == pytest.approx(0.5)
