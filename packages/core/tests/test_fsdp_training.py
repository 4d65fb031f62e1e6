"""FSDP2 through the Trainer on CPU (gloo), in real processes: parity with one process, exact
validation, sharded checkpoints of model and optimizer, resume on other world sizes.

Each multi-process test starts ``torchrun`` (:func:`forge.core.distributed.run_script`) with a
hard time limit; the one-process reference runs the same script without a launcher (the same
recipe, unsharded, in the same checkpoint layout). Models are tiny and steps few: the machine
running CI has two cores.
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
from forge.core.errors import CheckpointError, ConfigError

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

# An MLP classifier (two declared blocks: per-block FSDP units) trained with AdamW, gradient
# clipping (DTensor gradients), gradient checkpointing and two-micro-batch accumulation on a fixed
# global batch, validated every 3 steps on 11 samples (not divisible by 2 or 3: the ranks' splits
# are padded) with a synced accuracy; checkpoints every 3 steps.
WORKER = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    import torch
    import torchmetrics
    from safetensors.torch import save_file
    from torch import nn

    from forge.core.data._configs import LoaderConfig
    from forge.core.data._loader import build_loader
    from forge.core.distributed import DistributedConfig, FSDPConfig, detect_env
    from forge.core.distributed._sharded import full_model_state
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP
    from forge.core.trainer import CheckpointConfig, Trainer, TrainerConfig

    run_dir, global_batch, max_steps, resume = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    device = sys.argv[5]
    env = detect_env()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(107, 6, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    train, val = torch.utils.data.TensorDataset(x[:96], y[:96]), torch.utils.data.TensorDataset(x[96:], y[96:])
    per_rank = LoaderConfig(batch_size=global_batch // env.world_size, num_workers=0)
    loader = build_loader(train, per_rank, seed=3, rank=env.rank, world_size=env.world_size)
    val_loader = build_loader(val, per_rank, seed=3, rank=env.rank, world_size=env.world_size, shuffle=False)
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3))
    config = TrainerConfig(
        max_epochs=None,
        max_steps=max_steps,
        accumulate_grad_batches=2,
        grad_clip_norm=0.5,
        gradient_checkpointing=True,
        log_every_n_steps=1,
        val_every_n_steps=3,
        val_every_n_epochs=None,
        progress=False,
        device=device,
        checkpoint=CheckpointConfig(every_n_epochs=None, every_n_steps=3, monitor=None, keep_last=None),
        distributed=DistributedConfig(
            strategy="fsdp", fsdp=FSDPConfig(cpu_offload=device == "cuda" and "offload" in str(run_dir))
        ),
    )
    trainer = Trainer(config, run_dir=run_dir)
    result = trainer.fit(
        model,
        loader,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=lambda m: torch.optim.AdamW(m.parameters(), lr=0.02, weight_decay=0.01),
        val_loader=val_loader,
        metrics={"accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=3)},
        resume_from=run_dir if resume == "resume" else None,
    )
    full = full_model_state(trainer.unwrapped_model)
    if env.is_main:
        save_file(full, str(run_dir / "final.safetensors"))
        sharded = type(trainer.unwrapped_model).__name__.startswith("FSDP")
        facts = {"history": result.history, "sharded": sharded, "steps": trainer.global_step}
        (run_dir / "facts.json").write_text(json.dumps(facts))
    """
)

GLOBAL_BATCH = 12  # divisible by 1, 2 and 3 processes; 96 samples: 4 optimizer steps an epoch
STEPS = 8
# AdamW divides by sqrt(v): gradients reduced in another order (reduce-scatter over ranks against
# one process's mean) differ by float32 rounding (~1e-8) and can move a weight by up to ~lr * 1e-4
# where a gradient is near zero; measured ~1e-7. 1e-5 holds that with margin and still catches a
# wrong step (one missing or doubled micro-batch moves weights by ~1e-2).
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fsdp") / "worker.py"
    path.write_text(WORKER, encoding="utf-8")
    return path


def _args(run_dir: Path, max_steps: int, resume: bool, device: str) -> list[str]:
    return [str(run_dir), str(GLOBAL_BATCH), str(max_steps), "resume" if resume else "new", device]


def _train(
    worker: Path, run_dir: Path, nproc: int, *, resume: bool = False, device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """``nproc`` processes through torchrun (FSDP even on one), or 0: one plain process (no launcher)."""
    args = _args(run_dir, STEPS, resume, device)
    done = run_script(worker, nproc, args, timeout_s=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return load_file(str(run_dir / "final.safetensors"))


def _facts(run_dir: Path) -> dict[str, object]:
    facts: dict[str, object] = json.loads((run_dir / "facts.json").read_text())
    return facts


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def _validations(run_dir: Path) -> list[dict[str, float]]:
    return [{k: v for k, v in record.items() if k.startswith("val/")} for record in _facts(run_dir)["history"]]  # type: ignore[attr-defined]  # a JSON list of records


@pytest.fixture(scope="module")
def single(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight optimizer steps (two epochs) in one plain process: the reference."""
    run = tmp_path_factory.mktemp("single") / "run"
    _train(worker, run, 0)
    assert _facts(run)["sharded"] is False
    return run


@pytest.fixture(scope="module")
def two(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same eight steps with FSDP2 over two processes (checkpoints at steps 3, 6 and 8)."""
    run = tmp_path_factory.mktemp("two") / "run"
    _train(worker, run, 2)
    assert _facts(run)["sharded"] is True
    return run


def test_fsdp_trains_like_one_process_and_validates_exactly(single: Path, two: Path) -> None:
    """Same global batch: the same weights; 11 validation samples on 2 ranks (one padded): the same val figures."""
    difference = _max_difference(
        load_file(str(two / "final.safetensors")), load_file(str(single / "final.safetensors"))
    )
    print(f"max |w_fsdp2 - w_single| = {difference:.3g}")
    assert difference <= TOLERANCE
    sharded, whole = _validations(two), _validations(single)
    assert len(sharded) == len(whole) == 2 and all("val/accuracy" in v for v in whole)
    for a, b in zip(sharded, whole, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            print(f"{key}: 2 ranks {a[key]!r}, 1 process {b[key]!r}")
            assert abs(a[key] - b[key]) <= 1e-6, key


def test_fsdp_checkpoint_layout_shards_model_and_optimizer(two: Path) -> None:
    """step-N/ holds the manifest, the small groups, the whole weights and one shard per rank: no pickle."""
    step = two / "checkpoints" / "step-000006"
    ckpt = load_checkpoint(step)
    assert "optimizer" not in ckpt.groups and {"model", "rng", "rank_rng"} <= set(ckpt.groups)
    sharded = ckpt.manifest["trainer"]["sharded"]
    files = sorted(p.name for p in (step / "sharded").iterdir())
    assert sorted(sharded["files"]) == files and len(files) == 2
    assert all(name.endswith(".safetensors") for name in files)
    keys: set[str] = set()
    for name in files:
        keys |= set(load_file(str(step / "sharded" / name)))
    assert {
        "model.head.weight",
        "optimizer.state.head.weight.exp_avg",
        "optimizer.state.head.weight.exp_avg_sq",
    } <= keys
    assert sharded["optimizer"]["param_groups.head.weight.betas"] == [0.9, 0.999]
    # the whole weights of the step, for forge eval/export/serve, match the shards' gathered weights
    assert set(ckpt.groups["model"]) == {k.removeprefix("model.") for k in keys if k.startswith("model.")}
    assert not list(two.rglob("*.pt")) and not list(two.rglob("*.pkl")) and not list(two.rglob(".metadata"))


def test_sharded_optimizer_state_round_trips(single: Path, two: Path) -> None:
    """The optimizer state written in shards by two ranks loads whole into one process, equal to the
    one-process run's at that step; a corrupted shard is refused by name."""
    from forge.core.distributed._sharded import load_training_state, verify_digests
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP

    def loaded(run: Path) -> tuple[dict[str, torch.Tensor], torch.optim.Optimizer]:
        model = MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3))
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.5, weight_decay=0.5)  # overwritten by the load
        step = run / "checkpoints" / "step-000006"
        sharded = load_checkpoint(step).manifest["trainer"]["sharded"]
        verify_digests(step / "sharded", sharded["files"])
        load_training_state(step / "sharded", model, optimizer, sharded["optimizer"])
        return dict(model.state_dict()), optimizer

    weights_two, opt_two = loaded(two)
    weights_one, opt_one = loaded(single)
    assert _max_difference(weights_two, weights_one) <= TOLERANCE
    assert opt_two.param_groups[0]["lr"] == opt_one.param_groups[0]["lr"] == 0.02
    assert opt_two.param_groups[0]["betas"] == (0.9, 0.999) and opt_two.param_groups[0]["weight_decay"] == 0.01
    state_two, state_one = opt_two.state_dict()["state"], opt_one.state_dict()["state"]
    assert state_two.keys() == state_one.keys() and len(state_two) == 6
    for index in state_two:
        assert float(state_two[index]["step"]) == 6.0
        for name in ("exp_avg", "exp_avg_sq"):
            assert float((state_two[index][name] - state_one[index][name]).abs().max()) <= TOLERANCE

    bad = two.parent / "corrupt"
    shutil.copytree(two / "checkpoints" / "step-000006", bad)
    shard = next((bad / "sharded").iterdir())
    shard.write_bytes(shard.read_bytes()[:-8])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        verify_digests(bad / "sharded", load_checkpoint(bad).manifest["trainer"]["sharded"]["files"])


def _cut_back(run: Path, copy: Path, step: int) -> None:
    """Copy ``run`` without its checkpoints after ``step``: the run as if it had stopped there."""
    shutil.copytree(run, copy)
    for result in ("final.safetensors", "facts.json"):
        (copy / result).unlink()
    for checkpoint in (copy / "checkpoints").glob("step-*"):
        if int(checkpoint.name.removeprefix("step-")) > step:
            shutil.rmtree(checkpoint)
    CheckpointManager.rebuild_index(copy)


@pytest.mark.parametrize("nproc", [1, 3])
def test_a_two_process_fsdp_run_resumes_on_one_and_on_three(
    worker: Path, single: Path, two: Path, tmp_path: Path, nproc: int
) -> None:
    """Stopped at step 6 (mid-epoch 2) by two ranks; continued to step 8 by one (FSDP over a world of
    one) and by three (DCP reshards model and optimizer); the validation at the end is exact too."""
    copy = tmp_path / f"resumed-on-{nproc}"
    _cut_back(two, copy, 6)
    weights = _train(worker, copy, nproc, resume=True)
    difference = _max_difference(weights, load_file(str(single / "final.safetensors")))
    print(f"max |w_resumed_on_{nproc} - w_single| = {difference:.3g}")
    assert difference <= TOLERANCE
    assert _facts(copy)["sharded"] is True and _facts(copy)["steps"] == STEPS
    last, reference = _validations(copy)[-1], _validations(single)[-1]
    assert all(abs(last[k] - reference[k]) <= 1e-6 for k in reference)


def test_cpu_offload_is_refused_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: CPU offload is tested by test_fsdp_cpu_offload_on_one_gpu")
    from forge.core.distributed import FSDPConfig, shard_model

    with pytest.raises(ConfigError, match="cpu_offload: needs CUDA"):
        shard_model(torch.nn.Linear(2, 2), FSDPConfig(cpu_offload=True))


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA GPU: FSDP over a world of one GPU against the plain Trainer on it",
)
def test_fsdp_on_one_gpu_matches_the_plain_trainer(worker: Path, tmp_path: Path) -> None:
    """``--nproc-per-node 1`` on one GPU: FSDP over a world of one against the plain Trainer."""
    reference = _train(worker, tmp_path / "plain", 0, device="cuda")
    weights = _train(worker, tmp_path / "fsdp", 1, device="cuda")
    difference = _max_difference(weights, reference)
    print(f"max |w_fsdp_gpu - w_plain_gpu| = {difference:.3g}")
    assert difference <= 1e-4  # TF32 matmuls on Ampere+ GPUs: looser than CPU's


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: FSDP2 CPU offload pins host memory")
def test_fsdp_cpu_offload_on_one_gpu(worker: Path, tmp_path: Path) -> None:
    """CPU offload (sharded state in pinned host memory) trains, checkpoints and resumes on one GPU."""
    run = tmp_path / "offload"
    weights = _train(worker, run, 1, device="cuda")
    assert _facts(run)["sharded"] is True and all(torch.isfinite(w).all() for w in weights.values())
    _cut_back(run, tmp_path / "offload-cut", 6)
    resumed = _train(worker, tmp_path / "offload-cut", 1, resume=True, device="cuda")
    assert _max_difference(resumed, weights) <= 1e-5


def test_forge_eval_reads_an_fsdp_run(tmp_path: Path) -> None:
    """``forge train --nproc-per-node 2`` with strategy fsdp, then ``forge eval RUN``: the checkpoint's
    whole weights (gathered on rank 0) are what evaluation reads."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FORGE_LOG_FORMAT": "json"}
    forge = [sys.executable, "-c", "from forge.core.cli import main; main()"]
    small = ["trainer.max_epochs=1", "data.num_samples=240", "trainer.distributed.strategy=fsdp"]
    train = [*forge, "train", "core/mlp", *small, "--run-dir", "runs/f", "--nproc-per-node", "2"]
    done = subprocess.run(train, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    checkpoint = next((tmp_path / "runs" / "f" / "checkpoints").glob("step-*"))
    assert (checkpoint / "sharded").is_dir() and (checkpoint / "model.safetensors").is_file()
    evaluated = subprocess.run(
        [*forge, "eval", "runs/f"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert evaluated.returncode == 0, evaluated.stderr[-4000:]
    report = json.loads(evaluated.stdout)
    assert report["checkpoint"]["path"] == f"runs/f/checkpoints/{checkpoint.name}"
