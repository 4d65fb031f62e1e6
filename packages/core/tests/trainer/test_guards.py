"""NaN/Inf policy, out-of-memory micro-batch halving, and mode resolution."""

from __future__ import annotations

from typing import Literal

import pytest
import torch
from torch import nn

from forge.core.errors import ConfigError
from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import NonFiniteError, Trainer

from .conftest import make_batches, make_model, sgd


class PoisonedLoss(nn.Module):
    """Cross-entropy that returns NaN on chosen calls (1-based)."""

    def __init__(self, bad_calls: set[int]) -> None:
        super().__init__()
        self.bad_calls = bad_calls
        self.calls = 0

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(out, y)
        return loss * float("nan") if self.calls in self.bad_calls else loss


def test_skip_policy_skips_and_counts_bad_steps() -> None:
    model = make_model()
    cfg = TrainerConfig(device="cpu", max_epochs=1, nan_policy="skip", val_every_n_epochs=None)
    result = Trainer(cfg).fit(model, make_batches(6), loss_fn=PoisonedLoss({2, 5}), optimizer=sgd())
    assert result.skipped_steps == 2
    assert result.global_step == 4
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_stop_policy_names_the_step() -> None:
    cfg = TrainerConfig(device="cpu", max_epochs=1, nan_policy="stop", nan_check="step", val_every_n_epochs=None)
    with pytest.raises(NonFiniteError, match=r"optimizer step 3 \(epoch 1, batch 3\)"):
        Trainer(cfg).fit(make_model(), make_batches(6), loss_fn=PoisonedLoss({3}), optimizer=sgd())


def test_industrial_mode_checks_every_step_research_checks_at_log_lines() -> None:
    assert TrainerConfig(device="cpu", mode="industrial").resolved().nan_check == "step"
    assert TrainerConfig(device="cpu", mode="research").resolved().nan_check == "log"
    cfg = TrainerConfig(device="cpu", max_epochs=1, log_every_n_steps=4, val_every_n_epochs=None)
    with pytest.raises(NonFiniteError, match="between optimizer steps 1 and 4"):
        Trainer(cfg).fit(make_model(), make_batches(6), loss_fn=PoisonedLoss({3}), optimizer=sgd())


def test_mode_sets_defaults_and_explicit_settings_win() -> None:
    ind = TrainerConfig(device="cpu", mode="industrial").resolved()
    assert (ind.deterministic, ind.strict_validation, ind.log_level) == (True, True, "warning")
    res = TrainerConfig(device="cpu", mode="research").resolved()
    assert (res.deterministic, res.strict_validation, res.log_level) == (False, False, "info")
    mixed = TrainerConfig(device="cpu", mode="industrial", deterministic=False, log_level="debug").resolved()
    assert (mixed.deterministic, mixed.strict_validation, mixed.log_level) == (False, True, "debug")
    with pytest.raises(ConfigError, match="nan_check"):
        Trainer(TrainerConfig(device="cpu", nan_policy="skip", nan_check="log"))


class SmallMemoryModel(nn.Module):
    """Raises CUDA-style OOM for micro-batches over ``limit`` samples."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.net = make_model()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        out: torch.Tensor = self.net(x)
        return out


def test_oom_halves_micro_batch_and_keeps_the_effective_batch() -> None:
    batches = make_batches(4, batch=16)
    cfg = TrainerConfig(device="cpu", max_epochs=1, oom_auto_halve=True, val_every_n_epochs=None)
    small = SmallMemoryModel(limit=4)
    trainer = Trainer(cfg)
    trainer.fit(small, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert trainer._micro_split == 4
    assert trainer.global_step == 4
    reference = SmallMemoryModel(limit=10**6)
    Trainer(TrainerConfig(device="cpu", max_epochs=1, val_every_n_epochs=None)).fit(
        reference, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=sgd()
    )
    for a, b in zip(small.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_oom_is_raised_when_halving_is_off() -> None:
    with pytest.raises(torch.OutOfMemoryError):
        Trainer(TrainerConfig(device="cpu", max_epochs=1)).fit(
            SmallMemoryModel(limit=4), make_batches(2, batch=16), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd()
        )


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_with_finite_weights(precision: Literal["bf16", "fp16"]) -> None:
    model = make_model()
    before = model.state_dict()["0.weight"].clone()
    cfg = TrainerConfig(
        device="cpu", max_epochs=2, precision=precision, grad_clip_norm=1.0, nan_check="step", val_every_n_epochs=None
    )
    trainer = Trainer(cfg)
    result = trainer.fit(model, make_batches(4), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert result.global_step == 8
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not torch.equal(before, model.state_dict()["0.weight"])
    assert (trainer.scaler is not None) == (precision == "fp16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_refused() -> None:
    with pytest.raises(ConfigError, match="trainer.device"):
        Trainer(TrainerConfig(device="cuda", max_epochs=1)).fit(
            make_model(), make_batches(1), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd()
        )
