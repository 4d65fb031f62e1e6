"""Batch arithmetic of the step loop: counting, splitting, and a window's loss weights."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from forge.core.trainer._batches import count_samples, count_tokens, split_batch, split_window, window_weights

CPU = torch.device("cpu")


def _same(batch: Any) -> Any:
    return batch


def test_split_batch_cuts_nested_tensors_and_repeats_other_values() -> None:
    pieces = split_batch({"x": torch.arange(5), "tag": "a", "pair": (torch.zeros(5), torch.ones(5))}, 2)
    assert [p["x"].tolist() for p in pieces] == [[0, 1, 2], [3, 4]]
    assert [p["tag"] for p in pieces] == ["a", "a"]
    assert isinstance(pieces[1]["pair"], tuple) and pieces[1]["pair"][1].shape == (2,)


def test_split_window_keeps_each_samples_share_of_the_step() -> None:
    window = [(torch.randn(4, 3), torch.arange(4)), (torch.randn(2, 3), torch.arange(2))]
    parts, weights = split_window(window, [0.5, 0.5], 2)
    assert [count_samples(p) for p in parts] == [2, 2, 1, 1]
    assert weights == [0.25, 0.25, 0.25, 0.25]
    assert split_window(window, None, 1) == (window, None)
    assert split_window(window, None, 2)[1] == [0.5, 0.5, 0.5, 0.5]


def test_window_weights_by_micro_batch_sample_or_token() -> None:
    window = [(torch.zeros(3, 2), torch.tensor([1, -100, 2])), (torch.zeros(1, 2), torch.tensor([5]))]
    assert window_weights(window[:1], None, to_device=_same, device=CPU) is None
    assert window_weights(window, None, to_device=_same, device=CPU) == [0.5, 0.5]
    assert window_weights(window, count_samples, to_device=_same, device=CPU) == [0.75, 0.25]
    tokens = window_weights(window, count_tokens, to_device=_same, device=CPU)
    assert tokens is not None and [float(t) for t in tokens] == pytest.approx([2 / 3, 1 / 3])
    moved: list[Any] = []
    window_weights(window, count_samples, to_device=lambda b: moved.append(b) or b, device=CPU)
    assert moved == window  # counted where the step runs


def test_conditioned_inputs_count_their_first_tensor() -> None:
    from forge.core.trainer._batches import count_samples, host_counts

    images, labels, target = torch.zeros(5, 1, 8, 8), torch.zeros(5, dtype=torch.long), torch.zeros(5)
    assert count_samples(((images, labels), target)) == 5
    assert host_counts(((images, labels), target)) == (5, 0)
    assert host_counts(({"input_ids": torch.zeros(3, 7, dtype=torch.long)}, target)) == (3, 21)
