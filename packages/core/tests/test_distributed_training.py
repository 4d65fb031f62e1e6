"""DDP through the Trainer on CPU (gloo), in real processes: parity with one process, resume on other world sizes.

Each test starts ``torchrun`` (:func:`forge.core.distributed.run_script`) on a small script
written below, with a hard time limit, so a hung collective fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from forge.core._checkpoint import CheckpointManager
from forge.core.distributed import run_script

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

# A classifier trained with SGD + momentum and gradient accumulation; the global micro-batch is
# fixed (split over the ranks), so every world size computes the same optimizer steps.
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
    from forge.core.trainer import CheckpointConfig, ProfilerConfig, Trainer, TrainerConfig

    class CountAllReduces:
        # counts DDP's gradient all-reduces: one per bucket per synchronized backward
        calls = 0

        def on_train_start(self, trainer):
            if isinstance(trainer.model, nn.parallel.DistributedDataParallel):
                from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

                def counting(state, bucket):
                    CountAllReduces.calls += 1
                    return allreduce_hook(state, bucket)

                trainer.model.register_comm_hook(None, counting)

    run_dir, global_batch, max_steps, resume = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    dropout = float(sys.argv[5])
    env = detect_env()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    loader = build_loader(
        torch.utils.data.TensorDataset(x, y),
        LoaderConfig(batch_size=global_batch // env.world_size, num_workers=0),
        seed=3,
        rank=env.rank,
        world_size=env.world_size,
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 3))
    config = TrainerConfig(
        max_epochs=None,
        max_steps=max_steps,
        accumulate_grad_batches=2,
        log_every_n_steps=1,
        val_every_n_epochs=None,
        progress=False,
        checkpoint=CheckpointConfig(every_n_epochs=None, every_n_steps=3, monitor=None),
        distributed=DistributedConfig(bucket_cap_mb=1.0),
        profiler=ProfilerConfig(wait=0, warmup=1, active=2, record_memory=False),
    )
    counter = CountAllReduces()
    trainer = Trainer(config, run_dir=run_dir, callbacks=[counter])
    trainer.fit(
        model,
        loader,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        resume_from=run_dir if resume == "resume" else None,
    )
    if env.is_main:
        save_file(trainer.unwrapped_model.state_dict(), str(run_dir / "final.safetensors"))
        ddp = trainer.model if isinstance(trainer.model, nn.parallel.DistributedDataParallel) else None
        facts = {"allreduces": counter.calls, "steps": trainer.global_step}
        if ddp is not None:
            facts.update(bucket_bytes=ddp.bucket_bytes_cap, find_unused=ddp.find_unused_parameters)
        (run_dir / "ddp.json").write_text(json.dumps(facts))
    """
)

GLOBAL_BATCH = 12  # divisible by 1, 2 and 3 processes; 96 samples: 8 micro-batches, 4 optimizer steps an epoch


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "worker.py"
    path.write_text(WORKER, encoding="utf-8")
    return path


def _train(
    worker: Path, run_dir: Path, nproc: int, max_steps: int, *, resume: bool = False, dropout: float = 0.0
) -> dict[str, torch.Tensor]:
    done = run_script(
        worker,
        nproc,
        [str(run_dir), str(GLOBAL_BATCH), str(max_steps), "resume" if resume else "new", str(dropout)],
        timeout_s=80,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return load_file(str(run_dir / "final.safetensors"))


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.fixture(scope="module")
def single(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """Eight optimizer steps (two epochs) in one process: the reference."""
    return _train(worker, tmp_path_factory.mktemp("single") / "run", 1, 8)


def _cut_back(run: Path, copy: Path, step: int) -> None:
    """Copy ``run`` without its checkpoints after ``step``: the run as if it had stopped there."""
    shutil.copytree(run, copy)
    for result in ("final.safetensors", "ddp.json"):  # what the finished run wrote: the resume must write its own
        (copy / result).unlink()
    for checkpoint in (copy / "checkpoints").glob("step-*"):
        if int(checkpoint.name.removeprefix("step-")) > step:
            shutil.rmtree(checkpoint)
    CheckpointManager.rebuild_index(copy)
    assert (copy / "checkpoints" / f"step-{step:06d}").is_dir()


@pytest.fixture(scope="module")
def two(worker: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight optimizer steps on two processes (checkpoints at steps 6 and 8 kept)."""
    run = tmp_path_factory.mktemp("two") / "run"
    _train(worker, run, 2, 8)
    return run


@pytest.mark.parametrize("nproc", [2, 3])
def test_ddp_ends_where_one_process_ends(
    worker: Path, single: dict[str, torch.Tensor], two: Path, tmp_path: Path, nproc: int
) -> None:
    """Same global batch, accumulation over two micro-batches (no sync on the first): the same weights."""
    run = two if nproc == 2 else tmp_path / "run"
    weights = load_file(str(run / "final.safetensors")) if nproc == 2 else _train(worker, run, nproc, 8)
    difference = _max_difference(weights, single)
    print(f"max |w_ddp{nproc} - w_single| = {difference:.3g}")
    assert difference <= 1e-6
    facts = json.loads((run / "ddp.json").read_text())
    # the tiny model fits one bucket: one all-reduce per optimizer step, none for the first micro-batch
    assert facts["allreduces"] == facts["steps"] == 8
    assert facts["bucket_bytes"] == 1024 * 1024 and facts["find_unused"] is False
    for rank in range(nproc):  # each rank profiled its own window: collectives against compute
        comm = json.loads((run / "profile" / f"rank-{rank}" / "communication.json").read_text())
        assert 0 < comm["communication_share"] < 1
        assert "c10d::allreduce_" in {op["name"] for op in comm["communication_ops"]}


def test_a_two_process_run_resumes_mid_epoch_on_one_and_on_three(
    worker: Path, single: dict[str, torch.Tensor], two: Path, tmp_path: Path
) -> None:
    """Stopped at step 6 (mid-epoch 2) by two processes, continued to step 8 by one and by three."""
    for nproc in (1, 3):
        copy = tmp_path / f"resumed-on-{nproc}"
        _cut_back(two, copy, 6)
        weights = _train(worker, copy, nproc, 8, resume=True)
        difference = _max_difference(weights, single)
        print(f"max |w_resumed_on_{nproc} - w_single| = {difference:.3g}")
        assert difference <= 1e-6


def test_a_ddp_run_with_dropout_resumes_exactly_on_every_rank(worker: Path, tmp_path: Path) -> None:
    """Each rank draws its own dropout masks; the checkpoint keeps every rank's generators."""
    whole = _train(worker, tmp_path / "whole", 2, 8, dropout=0.3)
    _cut_back(tmp_path / "whole", tmp_path / "cut", 6)
    resumed = _train(worker, tmp_path / "cut", 2, 8, resume=True, dropout=0.3)
    difference = _max_difference(resumed, whole)
    print(f"max |w_resumed - w_uninterrupted| with dropout = {difference:.3g}")
    assert difference <= 1e-6


@pytest.mark.skipif(
    torch.cuda.device_count() < 2, reason="needs two CUDA GPUs: DDP over NCCL is tested on the GPU machine only"
)
def test_ddp_over_nccl_ends_where_one_gpu_ends(worker: Path, tmp_path: Path) -> None:
    """The same parity on GPUs: NCCL (trainer.distributed.backend='auto' on CUDA), one GPU per rank."""
    reference = _train(worker, tmp_path / "one", 1, 8)
    weights = _train(worker, tmp_path / "two", 2, 8)
    difference = _max_difference(weights, reference)
    print(f"max |w_nccl2 - w_one_gpu| = {difference:.3g}")
    assert difference <= 1e-5  # TF32 and NCCL's reduction order: looser than gloo's 1e-6
