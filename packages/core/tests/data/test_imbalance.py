"""Class weights, resampling samplers and SMOTE (compared against imbalanced-learn)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE as ImbSMOTE

from forge.core.data._imbalance import OverSampler, UnderSampler, class_counts, class_weights, smote
from forge.core.errors import DataError

LABELS = [0] * 90 + [1] * 9 + [2] * 1


def test_inverse_frequency_weights() -> None:
    weights = class_weights(LABELS)
    expected = [100 / (3 * 90), 100 / (3 * 9), 100 / (3 * 1)]
    assert weights.tolist() == pytest.approx(expected)
    assert class_weights([0, 1, 0, 1]).tolist() == [1.0, 1.0]


def test_effective_number_weights_match_cui_et_al() -> None:
    beta = 0.999
    weights = class_weights(LABELS, method="effective", beta=beta)
    raw = [(1 - beta) / (1 - beta**n) for n in (90, 9, 1)]
    expected = [r / sum(raw) * 3 for r in raw]
    assert weights.tolist() == pytest.approx(expected, rel=1e-5)
    assert weights.sum().item() == pytest.approx(3.0)


def test_absent_class_gets_zero_weight_and_bad_input_is_refused() -> None:
    assert class_weights([0, 0, 2], num_classes=4).tolist()[1::2] == [0.0, 0.0]
    with pytest.raises(DataError, match="out of range"):
        class_counts([0, 5], num_classes=3)
    with pytest.raises(DataError, match="unknown class weight method"):
        class_weights([0], method="sqrt")
    with pytest.raises(DataError, match="1-d integer"):
        class_weights(torch.tensor([0.5]))


def test_over_and_under_samplers_balance_and_reseed_per_epoch() -> None:
    over = OverSampler(LABELS, seed=0)
    drawn = list(over)
    counts = Counter(LABELS[i] for i in drawn)
    assert counts == {0: 90, 1: 90, 2: 90} and len(drawn) == len(over)
    assert set(range(90)) <= set(drawn)  # every majority sample appears once
    assert drawn == list(OverSampler(LABELS, seed=0))
    over.set_epoch(1)
    assert list(over) != drawn
    under = list(UnderSampler(LABELS, seed=0))
    assert Counter(LABELS[i] for i in under) == {0: 1, 1: 1, 2: 1} and len(set(under)) == 3


def _blobs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(200, 2, generator=generator), torch.randn(30, 2, generator=generator) + 4])
    y = torch.cat([torch.zeros(200, dtype=torch.long), torch.ones(30, dtype=torch.long)])
    return x, y


def test_smote_agrees_with_imbalanced_learn() -> None:
    x, y = _blobs()
    ours_x, ours_y = smote(x, y, k_neighbors=5, seed=0)
    ref_x, ref_y = ImbSMOTE(k_neighbors=5, random_state=0).fit_resample(x.numpy(), y.numpy())
    # same layout: originals first, then the synthetic minority rows
    assert ours_y.tolist() == ref_y.tolist()
    assert torch.equal(ours_x[: len(x)], x) and np.array_equal(ref_x[: len(x)], x.numpy())
    ours_new, ref_new = ours_x[len(x) :].double(), torch.from_numpy(ref_x[len(x) :]).double()
    # same distribution of synthetic points (both interpolate within the minority blob)
    assert torch.allclose(ours_new.mean(0), ref_new.mean(0), atol=0.25)
    assert torch.allclose(ours_new.std(0), ref_new.std(0), atol=0.25)


def test_every_synthetic_point_lies_between_a_sample_and_one_of_its_neighbours() -> None:
    x, y = _blobs()
    minority = x[y == 1].double()
    new = smote(x, y, k_neighbors=3, seed=4)[0][len(x) :].double()
    distances = torch.cdist(minority, minority).fill_diagonal_(float("inf"))
    neighbours = distances.topk(3, largest=False).indices
    for point in new:
        found = False
        for i in range(len(minority)):
            for j in neighbours[i]:
                a, b = minority[i], minority[j]
                gap = torch.dot(point - a, b - a) / torch.dot(b - a, b - a)
                if 0 <= gap <= 1 and torch.allclose(a + gap * (b - a), point, atol=1e-5):
                    found = True
        assert found


def test_smote_needs_enough_minority_samples() -> None:
    x = torch.randn(8, 2)
    with pytest.raises(DataError, match="class 1 has 3 sample"):
        smote(x, torch.tensor([0, 0, 0, 0, 0, 1, 1, 1]), k_neighbors=5)
