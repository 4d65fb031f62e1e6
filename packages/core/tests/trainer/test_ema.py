"""EMA: the average follows its formula, validation can use it, raw weights are untouched."""

from __future__ import annotations

import torch
from torch import nn

from forge.core.trainer.callbacks import EMACallback
from forge.core.trainer.config import EMAConfig, TrainerConfig
from forge.core.trainer.trainer import Trainer

from .conftest import make_batches, make_model, sgd


class ParamHistory:
    def __init__(self) -> None:
        self.snapshots: list[list[torch.Tensor]] = []

    def on_step_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        self.snapshots.append([p.detach().clone() for p in trainer.unwrapped_model.parameters()])


def test_ema_matches_formula_with_warmup_and_every() -> None:
    model = make_model()
    initial = [p.detach().clone() for p in model.parameters()]
    history = ParamHistory()
    cfg = TrainerConfig(
        device="cpu", max_epochs=1, ema=EMAConfig(decay=0.8, warmup=2, every=2), val_every_n_epochs=None
    )
    trainer = Trainer(cfg, callbacks=[history])
    trainer.fit(model, make_batches(6), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    ema = trainer.callback(EMACallback)
    expected = initial
    n = 0
    for step, params in enumerate(history.snapshots, start=1):
        if step % 2:
            continue
        decay = min(0.8, (1 + n) / (10 + n)) if n < 2 else 0.8
        expected = [decay * e + (1 - decay) * p for e, p in zip(expected, params, strict=True)]
        n += 1
    assert ema.num_updates == 3
    for (name, got), want in zip(
        ((n, t) for n, t in ema.shadow.items() if not n.startswith("buffer:")), expected, strict=True
    ):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7, msg=name)
    assert not torch.equal(ema.shadow["0.weight"], model.state_dict()["0.weight"])


def test_eval_with_ema_uses_the_average_and_restores_raw_weights_bitwise() -> None:
    model = make_model()
    val = make_batches(2, seed=9)
    cfg = TrainerConfig(device="cpu", max_epochs=2, ema=EMAConfig(decay=0.9), eval_with_ema=True)
    trainer = Trainer(cfg)
    result = trainer.fit(model, make_batches(4), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(0.5), val_loader=val)
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    ema_model = make_model()
    ema_model.load_state_dict(trainer.callback(EMACallback).state_dict())
    x = torch.cat([b[0] for b in val])
    y = torch.cat([b[1] for b in val])
    with torch.no_grad():
        ema_loss = nn.functional.cross_entropy(ema_model(x), y).item()
        raw_loss = nn.functional.cross_entropy(model(x), y).item()
    assert abs(result.metrics["val/loss"] - ema_loss) < 1e-6
    assert abs(ema_loss - raw_loss) > 1e-6
    assert all(torch.equal(raw[k], v) for k, v in model.state_dict().items())
