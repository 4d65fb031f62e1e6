"""The shipped recipes train through forge's standard runner and reach a sane accuracy.

Short seeded runs (the full recipes' measured figures are in the README); the bounds are well
below what the runs reach so that they hold on any machine, and far above chance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from forge.core import load_model, resume_run, run_recipe
from forge.graph.recipes import RECIPES, recipe_text


@pytest.mark.parametrize(
    ("name", "overrides", "bound"),
    [
        ("graph/karate", ["trainer.max_epochs=60"], 0.75),  # chance: 0.5
        ("graph/sbm", ["trainer.max_epochs=60"], 0.65),  # chance: 0.33
        ("graph/graph-classification", ["trainer.max_epochs=3", "data.num_graphs=300"], 0.85),  # chance: 0.5
    ],
)
def test_recipe_reaches_accuracy(tmp_path: Path, name: str, overrides: list[str], bound: float) -> None:
    result = run_recipe(name, [*overrides, "trainer.progress=false"], run_dir=tmp_path / "run")
    assert result.metrics["test/accuracy"] >= bound, result.metrics
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_recipe_files_are_shipped() -> None:
    for name in RECIPES:
        assert "[model]" in recipe_text(name)
    with pytest.raises(KeyError, match="no recipe 'cora'"):
        recipe_text("cora")


def test_sbm_recipe_trains_on_sampled_neighbourhoods(tmp_path: Path) -> None:
    overrides = [
        "data.fanouts=[10, 5]",
        "data.batch_size=20",  # 3 sampled steps per epoch over the 60 labelled nodes
        "trainer.max_epochs=20",
        "trainer.val_every_n_epochs=5",
        "trainer.progress=false",
    ]
    result = run_recipe("graph/sbm", overrides, run_dir=tmp_path / "run")
    assert result.fit.global_step == 60
    assert result.metrics["test/accuracy"] >= 0.65, result.metrics


class _Crash(Exception):
    """Stands in for the process dying right after a checkpoint."""


class _CrashAfter:
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Any, loss: torch.Tensor) -> None:
        if trainer.global_step == self.step:
            trainer.save_checkpoint(reason="periodic")
            raise _Crash(f"killed after step {self.step}")


def test_karate_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    overrides = ["trainer.max_epochs=12", "trainer.val_every_n_epochs=4", "trainer.progress=false"]
    reference = run_recipe("graph/karate", overrides, run_dir=tmp_path / "reference")
    with pytest.raises(_Crash):
        run_recipe("graph/karate", overrides, run_dir=tmp_path / "run", callbacks=[_CrashAfter(5)])
    resumed = resume_run(tmp_path / "run")
    assert resumed.fit.global_step == reference.fit.global_step == 12
    want = load_model(tmp_path / "reference", "last").state_dict()
    got = load_model(tmp_path / "run", "last").state_dict()
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)  # dropout RNG and data position restored
