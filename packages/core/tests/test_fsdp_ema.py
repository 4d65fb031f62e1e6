"""EMA of the weights with FSDP2 (CPU gloo, real processes): sharded averages equal to one process's.

The EMA callback keeps a sharded copy of each FSDP2 parameter and updates each rank's local
shard by the one-process formula; the checkpoint's shards hold the averages (so a resume on any
number of processes continues them), and its ``ema`` group holds them whole (gathered on rank 0)
for ``forge eval`` and export. Validation runs on the averages (``eval_with_ema``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from forge.core._checkpoint import CheckpointManager, load_checkpoint
from forge.core.distributed import run_script

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

# forge's MLP (two declared blocks: per-block FSDP units), SGD with momentum, two-micro-batch
# accumulation on a fixed global batch, an EMA with warmup updated every step, validation on the
# EMA weights every 3 steps, checkpoints every 3 steps.
WORKER = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    import torch
    from safetensors.torch import save_file
    from torch import nn

    from forge.core.data._configs import LoaderConfig
    from forge.core.data._loader import build_loader
    from forge.core.distributed import DistributedConfig, detect_env
    from forge.core.distributed._sharded import full_model_state
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP
    from forge.core.trainer import CheckpointConfig, EMAConfig, Trainer, TrainerConfig
    from forge.core.trainer.callbacks import EMACallback

    run_dir, resume = Path(sys.argv[1]), sys.argv[2] == "resume"
    env = detect_env()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(107, 6, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    train, val = torch.utils.data.TensorDataset(x[:96], y[:96]), torch.utils.data.TensorDataset(x[96:], y[96:])
    per_rank = LoaderConfig(batch_size=12 // env.world_size, num_workers=0)
    loader = build_loader(train, per_rank, seed=3, rank=env.rank, world_size=env.world_size)
    val_loader = build_loader(val, per_rank, seed=3, rank=env.rank, world_size=env.world_size, shuffle=False)
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3))
    config = TrainerConfig(
        max_epochs=None,
        max_steps=8,
        accumulate_grad_batches=2,
        val_every_n_steps=3,
        val_every_n_epochs=None,
        progress=False,
        ema=EMAConfig(decay=0.8, warmup=2),
        eval_with_ema=True,
        checkpoint=CheckpointConfig(every_n_epochs=None, every_n_steps=3, monitor=None, keep_last=None),
        distributed=DistributedConfig(strategy="fsdp"),
    )
    trainer = Trainer(config, run_dir=run_dir)
    result = trainer.fit(
        model,
        loader,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
        val_loader=val_loader,
        resume_from=run_dir if resume else None,
    )
    ema = trainer.callback(EMACallback)
    averages, weights = ema.full_weights(), full_model_state(trainer.unwrapped_model)  # every rank gathers
    if env.is_main:
        save_file(averages, str(run_dir / "ema.safetensors"))
        save_file(weights, str(run_dir / "final.safetensors"))
        sharded = type(trainer.unwrapped_model).__name__.startswith("FSDP")
        facts = {"history": result.history, "sharded": sharded, "updates": ema.num_updates}
        (run_dir / "facts.json").write_text(json.dumps(facts))
    """
)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fsdp-ema") / "worker.py"
    path.write_text(WORKER, encoding="utf-8")
    return path


def _train(worker: Path, run_dir: Path, nproc: int, *, resume: bool = False) -> dict[str, torch.Tensor]:
    """``nproc`` processes through torchrun (FSDP), or 0: one plain process (no launcher, no sharding)."""
    args = [str(run_dir), "resume" if resume else "new"]
    done = run_script(worker, nproc, args, timeout_s=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return load_file(str(run_dir / "ema.safetensors"))


def _facts(run_dir: Path) -> dict[str, object]:
    facts: dict[str, object] = json.loads((run_dir / "facts.json").read_text())
    return facts


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.fixture(scope="module")
def single(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("single") / "run"
    _train(worker, run, 0)
    return run


@pytest.fixture(scope="module")
def two(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("two") / "run"
    _train(worker, run, 2)
    return run


def test_fsdp_ema_equals_the_one_process_ema(single: Path, two: Path) -> None:
    reference, averages = load_file(str(single / "ema.safetensors")), load_file(str(two / "ema.safetensors"))
    difference = _max_difference(averages, reference)
    print(f"max |ema_fsdp2 - ema_single| = {difference:.3g}")
    assert difference <= 1e-6
    raw = load_file(str(two / "final.safetensors"))
    weights = _max_difference(raw, load_file(str(single / "final.safetensors")))
    print(f"max |w_fsdp2 - w_single| = {weights:.3g}")
    assert weights <= 1e-6  # validation swapped the averages in and the raw weights back exactly
    assert _max_difference(averages, raw) > 1e-3  # the average is not the raw weights
    assert _facts(two)["sharded"] is True and _facts(single)["sharded"] is False
    assert _facts(two)["updates"] == _facts(single)["updates"] == 8
    # every validation ran on the averages: the same figures as the one process's
    history, expected = _facts(two)["history"], _facts(single)["history"]
    assert isinstance(history, list) and isinstance(expected, list) and len(history) == len(expected) == 2
    for got, want in zip(history, expected, strict=True):
        assert all(abs(got[k] - want[k]) <= 1e-6 for k in want)


def test_the_checkpoint_holds_the_averages_sharded_and_whole(single: Path, two: Path) -> None:
    step = two / "checkpoints" / "step-000006"
    checkpoint = load_checkpoint(step)
    assert checkpoint.manifest["trainer"]["sharded"]["ema"] is True
    saved = checkpoint.groups["callbacks"]["ema"]
    assert int(saved["num_updates"]) == 6
    reference = load_checkpoint(single / "checkpoints" / "step-000006").groups["callbacks"]["ema"]["weights"]
    whole = dict(saved["weights"])
    assert whole.keys() == checkpoint.groups["model"].keys()
    assert _max_difference(whole, dict(reference)) <= 1e-6
    # evaluation and export read the whole averages (ema=True), not the raw weights
    from forge.core._runner import load_weights
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP

    loaded = load_weights(MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3)), step, "last", ema=True)
    assert _max_difference(dict(loaded.state_dict()), whole) == 0.0


def _cut_back(run: Path, copy: Path, step: int) -> None:
    shutil.copytree(run, copy)
    for result in ("ema.safetensors", "final.safetensors", "facts.json"):
        (copy / result).unlink()
    for checkpoint in (copy / "checkpoints").glob("step-*"):
        if int(checkpoint.name.removeprefix("step-")) > step:
            shutil.rmtree(checkpoint)
    CheckpointManager.rebuild_index(copy)


@pytest.mark.parametrize("nproc", [2, 3])
def test_a_resumed_fsdp_run_continues_the_average(
    worker: Path, single: Path, two: Path, tmp_path: Path, nproc: int
) -> None:
    """Stopped at step 6 by two ranks, continued to step 8 by two (exact) and by three (resharded)."""
    copy = tmp_path / f"resumed-on-{nproc}"
    _cut_back(two, copy, 6)
    averages = _train(worker, copy, nproc, resume=True)
    uninterrupted = _max_difference(averages, load_file(str(two / "ema.safetensors")))
    difference = _max_difference(averages, load_file(str(single / "ema.safetensors")))
    print(f"resumed on {nproc}: max |ema - ema_uninterrupted_fsdp2| = {uninterrupted:.3g}, vs single {difference:.3g}")
    assert difference <= 1e-6 and uninterrupted <= 1e-6
    assert _facts(copy)["updates"] == 8


def test_forge_eval_with_ema_reads_an_fsdp_run(tmp_path: Path) -> None:
    """``forge train --nproc-per-node 2`` with strategy fsdp and an EMA validated on, then ``forge eval``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FORGE_LOG_FORMAT": "json"}
    forge = [sys.executable, "-c", "from forge.core.cli import main; main()"]
    small = [
        "trainer.max_epochs=1",
        "data.num_samples=240",
        "trainer.distributed.strategy=fsdp",
        "trainer.ema.decay=0.9",
        "trainer.eval_with_ema=true",
    ]
    train = [*forge, "train", "core/mlp", *small, "--run-dir", "runs/f", "--nproc-per-node", "2"]
    done = subprocess.run(train, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    checkpoint = sorted((tmp_path / "runs" / "f" / "checkpoints").glob("step-*"))[-1]
    groups = load_checkpoint(checkpoint).groups
    averages, raw = groups["callbacks"]["ema"]["weights"], groups["model"]
    assert averages.keys() == raw.keys() and _max_difference(dict(averages), dict(raw)) > 0
    evaluated = subprocess.run(
        [*forge, "eval", "runs/f", "--which", "last"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-4000:]
    report = json.loads(evaluated.stdout)
    assert report["checkpoint"]["path"] == f"runs/f/checkpoints/{checkpoint.name}"
