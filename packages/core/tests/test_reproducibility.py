"""Seeding, determinism flags, RNG snapshots through a checkpoint, environment capture."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from forge.core._checkpoint import load_checkpoint, save_checkpoint
from forge.core._reproducibility import (
    capture_environment,
    capture_rng_state,
    configure_determinism,
    restore_rng_state,
    seed_everything,
    seed_worker,
)
from forge.core.errors import CheckpointError


def draw() -> tuple[float, float, float, float]:
    return random.random(), float(np.random.rand()), float(np.random.randn()), float(torch.rand(1))


def test_seed_everything_makes_every_generator_repeat() -> None:
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, True])
def test_seed_everything_rejects_bad_seeds(bad: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)  # type: ignore[arg-type]  # the point is a bad type


def test_rng_state_survives_a_checkpoint_round_trip(tmp_path: Path) -> None:
    seed_everything(3)
    draw()
    np.random.randn()  # leaves a cached gaussian in numpy's legacy state
    state = capture_rng_state()
    expected = [draw() for _ in range(3)]
    save_checkpoint(tmp_path / "c", {"rng": state}, {})
    seed_everything(99)
    restored = load_checkpoint(tmp_path / "c").groups["rng"]
    restore_rng_state(restored)
    assert [draw() for _ in range(3)] == expected
    assert restored["torch"].dtype == torch.uint8
    assert isinstance(restored["python"][1], list)


def test_restore_rejects_malformed_state() -> None:
    with pytest.raises(CheckpointError, match="RNG"):
        restore_rng_state({"python": [3, [1, 2], None]})


@pytest.fixture
def determinism_restored() -> Iterator[None]:
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    )
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]
    if before[3] is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = before[3]


@pytest.mark.usefixtures("determinism_restored")
def test_configure_determinism_sets_every_flag() -> None:
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    configure_determinism(True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    configure_determinism(False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark


class _Noise(Dataset[tuple[float, float]]):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple[float, float]:
        return float(np.random.rand()), random.random()


def _epoch(rank: str, seed: int = 5) -> list[float]:
    os.environ["RANK"] = rank
    try:
        generator = torch.Generator().manual_seed(seed)
        loader = DataLoader(_Noise(), batch_size=1, num_workers=2, worker_init_fn=seed_worker, generator=generator)
        return [float(v) for batch in loader for v in (batch[0].item(), batch[1].item())]
    finally:
        os.environ.pop("RANK", None)


def test_seed_worker_differs_per_worker_and_rank_and_repeats() -> None:
    rank0 = _epoch("0")
    assert rank0 == _epoch("0")
    assert rank0 != _epoch("1")
    # Workers 0 and 1 each load two samples; without seed_worker numpy would repeat across them.
    assert len(set(rank0)) == len(rank0)


def test_capture_environment_is_json_and_names_forge_packages(tmp_path: Path) -> None:
    env = capture_environment()
    json.dumps(env)
    assert env["torch"] == torch.__version__
    assert env["python"]["version"].count(".") == 2
    assert all(name.startswith("forge-") for name in env["forge_packages"])
    assert env["torchmetrics"] is not None and env["accelerate"] is not None
    # Outside any repository the commit is simply absent.
    assert capture_environment(cwd=tmp_path)["git"] is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_capture_environment_records_git_commit(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    (tmp_path / "f.txt").write_text("x")
    git("add", "f.txt")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "-m", "m")
    env = capture_environment(cwd=tmp_path)
    assert env["git"] == {"commit": git("rev-parse", "HEAD").strip(), "dirty": False}


def test_capture_environment_without_git_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert capture_environment()["git"] is None
