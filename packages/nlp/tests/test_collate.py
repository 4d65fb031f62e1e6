"""Dynamic padding collator: pads to the batch's longest, masks, labels, multiples of 8."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core.errors import DataError
from forge.nlp.collate import PadCollator


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.lists(st.integers(1, 50), min_size=1, max_size=20), min_size=1, max_size=6),
    st.sampled_from([None, 8]),
)
def test_pads_to_the_longest_and_the_mask_marks_real_tokens(rows: list[list[int]], multiple: int | None) -> None:
    batch = PadCollator(pad_id=0, pad_to_multiple_of=multiple)([torch.tensor(r) for r in rows])
    assert isinstance(batch, dict)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    longest = max(len(r) for r in rows)
    width = longest if multiple is None else -(-longest // multiple) * multiple
    assert ids.shape == mask.shape == (len(rows), width) and mask.dtype == torch.bool
    for i, row in enumerate(rows):
        assert ids[i, : len(row)].tolist() == row and bool((ids[i, len(row) :] == 0).all())
        assert mask[i].sum() == len(row) and bool(mask[i, : len(row)].all())
    assert "labels" not in batch


def test_class_labels_are_stacked_and_tuple_output_feeds_the_default_step() -> None:
    samples = [(torch.tensor([5, 6, 7]), torch.tensor(1)), (torch.tensor([5]), 0)]
    batch = PadCollator(pad_id=9)(samples)
    assert isinstance(batch, dict)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 9, 9]] and batch["labels"].tolist() == [1, 0]
    x, y = PadCollator(pad_id=9, output="tuple")(samples)
    assert torch.equal(x, batch["input_ids"]) and torch.equal(y, batch["labels"])


def test_token_labels_are_padded_with_the_ignore_index() -> None:
    samples = [{"input_ids": [1, 2, 3], "labels": [2, 3, 4]}, {"input_ids": [1], "labels": [7]}]
    batch = PadCollator(pad_id=0, pad_to_multiple_of=4)(samples)
    assert isinstance(batch, dict)
    assert batch["labels"].tolist() == [[2, 3, 4, -100], [7, -100, -100, -100]]


def test_bad_batches_name_the_sample() -> None:
    collate = PadCollator(pad_id=0)
    with pytest.raises(DataError, match="sample 1: expected a 1-D integer"):
        collate([torch.tensor([1]), torch.tensor([0.5])])
    with pytest.raises(DataError, match="sample 1 has no label"):
        collate([(torch.tensor([1]), 0), torch.tensor([2])])
    with pytest.raises(DataError, match="sample 0: expected an integer class label"):
        collate([(torch.tensor([1]), torch.tensor(0.5)), (torch.tensor([2]), torch.tensor(1.0))])
    with pytest.raises(DataError, match="empty batch"):
        collate([])
    with pytest.raises(DataError, match="needs labelled samples"):
        PadCollator(pad_id=0, output="tuple")([torch.tensor([1])])
