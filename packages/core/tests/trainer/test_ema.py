"""EMA: the average follows its formula, validation can use it, raw weights are untouched."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from forge.core.trainer._config import EMAConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer
from forge.core.trainer.callbacks import EMACallback

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


EMA_FIXTURE = Path(__file__).parent.parent / "fixtures" / "ema.json"


def drive_ema(ema: EMACallback, start: int, stop: int, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Train a small batch-norm model with SGD from step 0, averaging from step ``start`` (after
    loading ``state``, a saved ``"ema"`` group) to ``stop``; the averages after each of those steps."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    trainer = SimpleNamespace(unwrapped_model=model, global_step=0)
    g = torch.Generator().manual_seed(1)
    averages = []
    for step in range(stop + 1):
        if step > 0:
            opt.zero_grad()
            model(torch.randn(8, 3, generator=g)).pow(2).mean().backward()
            opt.step()
        if step == start:
            if state is not None:
                ema.on_load_checkpoint(trainer, {"ema": state})
            ema.on_train_start(trainer)
        if step > start:
            trainer.global_step = step
            ema.on_step_end(trainer, torch.zeros(()))
            averages.append({k: v.tolist() for k, v in ema.state_dict().items()})
    return averages


def test_ema_matches_forge_0_1_step_by_step_and_resumes_from_its_checkpoints() -> None:
    recorded = json.loads(EMA_FIXTURE.read_text())

    def make() -> EMACallback:
        return EMACallback(recorded["decay"], warmup=recorded["warmup"], every=recorded["every"])

    k, n = recorded["saved_at"], len(recorded["averages"])
    want = [{name: torch.tensor(v) for name, v in step.items()} for step in recorded["averages"]]

    def check(got: list[dict[str, Any]], want: list[dict[str, torch.Tensor]]) -> None:
        assert len(got) == len(want)
        for step, (g, w) in enumerate(zip(got, want, strict=True)):
            assert list(g) == list(w)
            for name in w:
                torch.testing.assert_close(torch.tensor(g[name]), w[name], rtol=1e-6, atol=1e-7, msg=f"{step} {name}")

    check(drive_ema(make(), 0, n), want)
    # The checkpoint group forge-core 0.1 wrote at step k resumes the average exactly.
    old = recorded["saved"]
    saved = {
        "weights": {name: torch.tensor(v) for name, v in old["weights"].items()},
        "num_updates": old["num_updates"],
    }
    check(drive_ema(make(), k, n, saved), want[k:])
    # So does the group written now, with the same keys.
    ema = make()
    drive_ema(ema, 0, k)
    state: dict[str, Any] = {}
    ema.on_save_checkpoint(SimpleNamespace(), state)
    assert set(state["ema"]) == {"weights", "num_updates"} and list(state["ema"]["weights"]) == list(old["weights"])
    check(drive_ema(make(), k, n, state["ema"]), want[k:])


def test_ema_swaps_weights_only_around_evaluation_when_eval_with_ema() -> None:
    model = make_model()
    ema = EMACallback(0.5)
    trainer = SimpleNamespace(
        unwrapped_model=model, config=TrainerConfig(device="cpu", eval_with_ema=True), global_step=1
    )
    ema.on_train_start(trainer)
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update()
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    ema.on_evaluation_start(trainer)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, (raw[name] + trained[name]) / 2)
    ema.on_evaluation_end(trainer)
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())
    trainer.config = TrainerConfig(device="cpu", eval_with_ema=False)
    ema.on_evaluation_start(trainer)
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())
    ema.on_evaluation_end(trainer)
