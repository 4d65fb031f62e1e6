"""Parity: with the same seed in deterministic mode, the Trainer equals a hand-written loop bitwise."""

from __future__ import annotations

import torch
from torch import nn

from forge.core._reproducibility import configure_determinism, seed_everything
from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model


def test_trainer_matches_raw_loop_bitwise() -> None:
    batches = make_batches(n_batches=10)
    config = TrainerConfig(device="cpu", max_epochs=2, deterministic=True, seed=11, val_every_n_epochs=None)

    trained = make_model(dropout=0.1)
    Trainer(config).fit(
        trained, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2)
    )

    raw = make_model(dropout=0.1)
    configure_determinism(True)
    seed_everything(11)
    opt = torch.optim.AdamW(raw.parameters(), lr=1e-2)
    for _ in range(2):
        for x, y in batches:
            loss = nn.functional.cross_entropy(raw(x), y)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            opt.zero_grad(set_to_none=True)

    for (name, a), b in zip(trained.state_dict().items(), raw.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # And the run did train: weights moved away from the initialization.
    assert not torch.equal(trained.state_dict()["0.weight"], make_model(dropout=0.1).state_dict()["0.weight"])
