"""The Trainer on a CUDA GPU: placement, bf16 and fp16 autocast, torch.compile.

Skipped where no CUDA device exists (CI is CPU-only); run on the GPU machine.
"""

from __future__ import annotations

from typing import Literal

import pytest
import torch

from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model, sgd

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _loss_after(
    precision: Literal["fp32", "bf16", "fp16"], compile_mode: Literal["off", "default"] = "off"
) -> tuple[float, float]:
    batches = make_batches(32, batch=64, features=6, classes=3)
    model = make_model()
    cfg = TrainerConfig(max_epochs=3, precision=precision, compile=compile_mode, val_every_n_epochs=None)
    with torch.no_grad():
        before = torch.stack([torch.nn.functional.cross_entropy(model(x), y) for x, y in batches]).mean().item()
    Trainer(cfg).fit(model, batches, loss_fn=torch.nn.CrossEntropyLoss(), optimizer=sgd(0.2))
    params = list(model.parameters())
    assert all(p.device.type == "cuda" for p in params), "the trainer left parameters off the GPU"
    assert all(torch.isfinite(p).all() for p in params)
    with torch.no_grad():
        after = torch.stack([torch.nn.functional.cross_entropy(model(x.cuda()).float(), y.cuda()) for x, y in batches])
    return before, after.mean().item()


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_trains_on_the_gpu_in_each_precision(precision: Literal["fp32", "bf16", "fp16"]) -> None:
    before, after = _loss_after(precision)
    assert after < before


def test_compiled_model_trains_on_the_gpu() -> None:
    before, after = _loss_after("bf16", "default")
    assert after < before


def test_device_cpu_keeps_training_on_the_cpu_beside_a_gpu() -> None:
    model = make_model()
    cfg = TrainerConfig(device="cpu", max_epochs=1, val_every_n_epochs=None)
    Trainer(cfg).fit(model, make_batches(4), loss_fn=torch.nn.CrossEntropyLoss(), optimizer=sgd())
    assert all(p.device.type == "cpu" for p in model.parameters())
