"""Child process of the exact-resume test: train (or resume) and save the final state.

Usage: python resume_child.py RUN_DIR OUT_FILE [resume]
Prints "step N" after every optimizer step so the parent can kill it at a chosen step.
"""

from __future__ import annotations

import json
import sys
import time

import torch
from safetensors.torch import save_file
from torch import nn

from forge.core._checkpoint import flatten_state
from forge.core.data._configs import LoaderConfig
from forge.core.data._loader import build_loader
from forge.core.optim._configs import WarmupCosineConfig
from forge.core.optim._schedulers import build_warmup_cosine
from forge.core.trainer._config import CheckpointConfig, EMAConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer


class Jittered(torch.utils.data.TensorDataset):
    """Adds noise drawn in the worker from torch's global generator, as a random augmentation does."""

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        x, y = super().__getitem__(index)
        return x + 0.1 * torch.randn(x.shape), y


class Announce:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def on_step_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        print(f"step {trainer.global_step}", flush=True)
        time.sleep(self.delay)


def main() -> None:
    run_dir, out, resume = sys.argv[1], sys.argv[2], len(sys.argv) > 3
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(320, 12, generator=g)
    y = (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 1).long()
    data = Jittered(x, y)
    loader = build_loader(data, LoaderConfig(batch_size=16, num_workers=2, shuffle=True), seed=7)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    config = TrainerConfig(
        max_epochs=3,
        deterministic=True,
        seed=3,
        ema=EMAConfig(decay=0.9, warmup=5),
        log_every_n_steps=7,
        val_every_n_epochs=None,
        checkpoint=CheckpointConfig(every_n_steps=3, every_n_epochs=None, keep_last=2, keep_best=0, monitor=None),
    )
    trainer = Trainer(config, run_dir=run_dir, callbacks=[Announce(0.03 if not resume else 0.0)])
    trainer.fit(
        model,
        loader,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.01),
        scheduler=build_warmup_cosine(WarmupCosineConfig(warmup_steps=5)),
        resume_from=run_dir if resume else None,
    )
    from forge.core.trainer.callbacks import EMACallback

    ema = trainer.callback(EMACallback)
    assert trainer.optimizer is not None
    opt_tensors, opt_skeleton = flatten_state({"optimizer": trainer.optimizer.state_dict()})
    tensors = {f"model/{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"opt/{k}": v.contiguous() for k, v in opt_tensors.items()})
    tensors.update({f"ema/{k}": v.contiguous() for k, v in ema.shadow.items()})
    save_file(
        tensors,
        out,
        metadata={
            "global_step": str(trainer.global_step),
            "skeleton": json.dumps(opt_skeleton, sort_keys=True, default=str),
        },
    )


if __name__ == "__main__":
    main()
