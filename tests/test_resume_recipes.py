"""Exact resume of the shipped recipes: interrupted at several steps, resumed, bitwise the same run.

``vision/digits`` augments with a seeded Compose (random resized crops); ``vision/shapes`` with a
seeded Compose of flips and TrivialAugment, then mixup on whole batches. Each is shortened with
overrides (a narrower model, fewer samples, two epochs) and interrupted after step k, mid-epoch
and in the second epoch, in the two ways a run stops early:

- a crash: the step-k checkpoint is written and the process dies (what SIGKILL leaves behind);
- Ctrl-C: SIGINT arrives during step k; the trainer finishes the step, saves and raises
  :class:`TrainingInterrupted` with the ``forge train --resume`` command.

The resumed run must end with the same weights and optimizer state, bit for bit, and its step
log (train/loss, lr, validation metrics) must read exactly as the uninterrupted run's.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from forge.core import resume_run, run_recipe
from forge.core._run import RunDir, find_checkpoint
from forge.core.trainer import TrainerView, TrainingInterrupted

pytest.importorskip("forge.vision")

SHORT: dict[str, list[str]] = {
    # 1797 digits: 15% for training -> 269 images, 9 steps of 32 per epoch
    "vision/digits": [
        "data.val_fraction=0.05",
        "data.test_fraction=0.8",
        "model.width_multiplier=0.125",
    ],
    # 16x16 images, 4 steps of 32 per epoch
    "vision/shapes": [
        "data.image_size=16",
        "data.num_train=128",
        "data.num_val=32",
        "data.num_test=32",
        "model.width_multiplier=0.125",
    ],
}
COMMON = ["data.batch_size=32", "trainer.max_epochs=2", "trainer.log_every_n_steps=4", "trainer.progress=false"]


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_python() -> Iterator[None]:
    """Python's own SIGINT handler, as in a terminal: a suite started in the background (``cmd &``
    from a script) inherits SIGINT ignored, and the Trainer leaves an ignored or custom handler alone."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _Crash(Exception):
    """Stands in for the process dying right after a checkpoint."""


class StopAfter:
    """After optimizer step ``step``: crash after checkpointing, or send this process SIGINT."""

    def __init__(self, step: int, how: str) -> None:
        self.step, self.how = step, how

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        if trainer.global_step != self.step:
            return
        if self.how == "crash":
            trainer.save_checkpoint(reason="periodic")
            raise _Crash(f"killed after step {self.step}")
        os.kill(os.getpid(), signal.SIGINT)  # arrives mid-step: the trainer must finish the step first


def _tensors(prefix: str, value: Any) -> dict[str, torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    out: dict[str, torch.Tensor] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(_tensors(f"{prefix}/{k}", v))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.update(_tensors(f"{prefix}/{i}", v))
    return out


def _final_state(run_dir: Path) -> dict[str, torch.Tensor]:
    groups = find_checkpoint(run_dir, "last").groups
    return {**_tensors("model", groups["model"]), **_tensors("optimizer", groups["optimizer"])}


def _log_lines(run_dir: Path) -> list[dict[str, Any]]:
    keep = ("step", "epoch", "train/loss", "lr", "val/loss", "val/accuracy")
    return [{k: r[k] for k in keep if k in r} for r in RunDir(run_dir).read_log()]


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reference")
    return {
        name: run_recipe(name, [*SHORT[name], *COMMON], run_dir=root / name.replace("/", "-")).run_dir for name in SHORT
    }


@pytest.mark.parametrize(
    ("recipe", "step", "how"),
    [
        ("vision/digits", 3, "crash"),
        ("vision/digits", 11, "sigint"),  # second epoch, mid-way
        ("vision/shapes", 2, "sigint"),
        ("vision/shapes", 6, "crash"),
    ],
)
def test_interrupted_recipe_resumes_bitwise(
    recipe: str, step: int, how: str, references: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    if how == "crash":
        with pytest.raises(_Crash):
            run_recipe(recipe, [*SHORT[recipe], *COMMON], run_dir=run_dir, callbacks=[StopAfter(step, how)])
    else:
        with pytest.raises(TrainingInterrupted) as info:
            run_recipe(recipe, [*SHORT[recipe], *COMMON], run_dir=run_dir, callbacks=[StopAfter(step, how)])
        assert info.value.step == step
        assert info.value.checkpoint is not None and info.value.checkpoint.is_dir()
        assert f"forge train --resume {run_dir}" in str(info.value)
    assert find_checkpoint(run_dir, "last").manifest["trainer"]["global_step"] == step

    resumed = resume_run(run_dir)

    reference = references[recipe]
    assert resumed.fit.global_step == run_recipe_steps(reference)
    want, got = _final_state(reference), _final_state(run_dir)
    assert want.keys() == got.keys()
    differing = [k for k in want if not torch.equal(want[k], got[k])]
    assert not differing, f"{len(differing)} of {len(want)} tensors differ after resuming at step {step}"
    # The step log reads as the uninterrupted run's: no restarted running mean, same epochs.
    assert _log_lines(run_dir) == _log_lines(reference)


def run_recipe_steps(run_dir: Path) -> int:
    return int(find_checkpoint(run_dir, "last").manifest["trainer"]["global_step"])
