"""Worker batches sent through the pipe by value: same batches as torch's collate, no shared memory."""

from __future__ import annotations

from collections import namedtuple
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, default_collate

import forge.core.data._transfer as transfer
from forge.core.data._configs import LoaderConfig
from forge.core.data._loader import build_loader
from forge.core.data._transfer import InlineCollate

Pair = namedtuple("Pair", ["x", "y"])


@pytest.fixture()
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "get_worker_info", lambda: object())


def _travel(obj: Any) -> Any:
    """What the main process gets after a worker's queue pickles ``obj`` (torch's reducers active)."""
    return ForkingPickler.loads(bytes(ForkingPickler.dumps(obj)))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return type(b) is torch.Tensor and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


SAMPLES = [
    [(torch.arange(4), 1), (torch.arange(4) * 2, 0)],
    [
        {"ids": np.arange(3, dtype=np.int32), "text": "a", "w": 0.5},
        {"ids": np.zeros(3, dtype=np.int32), "text": "b", "w": 1.5},
    ],
    [Pair(torch.ones(2, 2, dtype=torch.bfloat16), True), Pair(torch.zeros(2, 2, dtype=torch.bfloat16), False)],
    [[torch.tensor(3.0), torch.zeros(0, 5)], [torch.tensor(4.0), torch.zeros(0, 5)]],
]


@pytest.mark.parametrize("batch", SAMPLES, ids=["tuple", "dict-numpy-str", "namedtuple-bf16", "list-0d-empty"])
def test_small_batches_travel_by_value_and_equal_default_collate(in_worker: None, batch: list[Any]) -> None:
    sent = InlineCollate()(batch)
    assert not isinstance(sent, torch.Tensor)
    got = _travel(sent)
    assert _same(default_collate(batch), got)
    tensors = [t for t in (got.values() if isinstance(got, dict) else got) if isinstance(t, torch.Tensor)]
    assert tensors and not any(t.is_shared() for t in tensors)


def test_batches_over_the_limit_or_unusual_tensors_are_left_to_torch(in_worker: None) -> None:
    big = [(torch.zeros(1024), 0)] * 8  # 32 KiB of floats
    assert isinstance(InlineCollate(max_bytes=1024)(big)[0], torch.Tensor)
    assert isinstance(InlineCollate(max_bytes=64 * 1024)(big)[0], transfer._InlineTensor)
    needs_grad = InlineCollate(lambda b: torch.ones(2, requires_grad=True))([0])
    assert isinstance(needs_grad, torch.Tensor) and needs_grad.requires_grad
    # a user's collate function is wrapped: its small output travels by value, non-contiguous views too
    view = InlineCollate(lambda b: (torch.arange(12).reshape(3, 4).t(), b))([1, 2])
    assert isinstance(view[0], transfer._InlineTensor)
    assert _same((torch.arange(12).reshape(3, 4).t().contiguous(), [1, 2]), _travel(view))


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        InlineCollate(max_bytes=-1)


def test_outside_a_worker_nothing_is_wrapped() -> None:
    batch = SAMPLES[0]
    assert _same(InlineCollate()(batch), default_collate(batch))
    assert _same(InlineCollate(default_collate)(batch), default_collate(batch))


class Records(Dataset[dict[str, Any]]):
    def __init__(self, size: int, width: int) -> None:
        self.size, self.width = size, width

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"x": torch.full((self.width,), float(index)), "y": index % 3, "name": f"r{index}"}


@pytest.mark.parametrize("width", [4, 4096])  # 4: through the pipe; 4096 x 8 samples = 128 KiB > limit
def test_worker_batches_equal_single_process_batches(width: int) -> None:
    def batches(workers: int) -> list[Any]:
        # no pinning: on a CUDA machine it copies every batch, hiding which way it travelled
        config = LoaderConfig(batch_size=8, num_workers=workers, pin_memory=False, inline_batch_bytes=64 * 1024)
        return list(build_loader(Records(30, width), config, seed=0))

    single, workers = batches(0), batches(2)
    assert len(single) == len(workers) == 4
    assert all(_same(a, b) for a, b in zip(single, workers, strict=True))
    # small batches came through the pipe, large ones through torch's shared memory
    assert all(b["x"].is_shared() == (width == 4096) for b in workers)


def test_views_with_lazy_conjugation_travel_resolved(in_worker: None) -> None:
    z = torch.tensor([1 + 2j, 3 - 4j])
    sent = InlineCollate(lambda b: z.conj())([0])
    assert isinstance(sent, transfer._InlineTensor)
    assert torch.equal(_travel(sent), torch.tensor([1 - 2j, 3 + 4j]))
