"""forge.core.distributed across real processes (gloo on CPU): barriers, broadcasts, FSDP2 and sharded checkpoints."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from forge.core.distributed import run_script
from forge.core.models._configs import MLPConfig
from forge.core.models._mlp import MLP

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

WORKER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    import torch
    from torch import nn

    from forge.core.distributed import (
        DistributedConfig, FSDPConfig, barrier, broadcast_text, export_consolidated, init_process_group,
        load_sharded, save_sharded, shard_model,
    )
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP

    mode, out = sys.argv[1], Path(sys.argv[2])
    assert init_process_group(DistributedConfig(timeout_s=30), "cpu")
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    if mode == "broadcast":
        print(f"rank {rank} got {broadcast_text('runs/ünï-1' if rank == 0 else None)}")
    elif mode == "barrier":
        if rank == 1:
            time.sleep(30)  # a rank that hangs: rank 0 must not wait for it beyond the barrier's timeout
        barrier("checkpoint", timeout_s=2)
    elif mode in ("bf16", "offload"):
        policy = FSDPConfig(param_dtype="bf16", reduce_dtype="fp32", cpu_offload=mode == "offload")
        device = "cuda" if mode == "offload" else "cpu"
        model = shard_model(MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3)).to(device), policy)
        out = model(torch.randn(8, 6, device=device))
        out.float().sum().backward()
        weight = model.blocks[0][0].weight
        print(f"rank {rank}: compute {out.dtype}, parameters {weight.dtype}, gradients {weight.grad.dtype}")
    else:
        torch.manual_seed(0)
        model = shard_model(MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3)), FSDPConfig())
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
        if mode == "train":
            g = torch.Generator().manual_seed(1)
            x, y = torch.randn(12, 6, generator=g), torch.randint(0, 3, (12,), generator=g)
            for _ in range(3):
                nn.functional.cross_entropy(model(x[rank::world]), y[rank::world]).backward()
                optimizer.step()
                optimizer.zero_grad()
            save_sharded(out / "sharded", model)
            export_consolidated(out / f"trained-on-{world}.safetensors", model)
        else:
            load_sharded(out / "sharded", model)
            export_consolidated(out / f"loaded-on-{world}.safetensors", model)
    barrier("done", timeout_s=30)  # no rank tears the group down while another still talks to it
    torch.distributed.destroy_process_group()
    """
)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("collectives") / "worker.py"
    path.write_text(WORKER, encoding="utf-8")
    return path


def test_broadcast_text_reaches_every_rank(worker: Path, tmp_path: Path) -> None:
    done = run_script(worker, 3, ["broadcast", str(tmp_path)], timeout_s=60)
    assert done.returncode == 0, done.stderr[-3000:]
    # the ranks share one stdout pipe, so their lines may interleave: match, do not split
    assert sorted(re.findall(r"rank (\d) got runs/ünï-1", done.stdout)) == ["0", "1", "2"]


def test_a_barrier_never_waits_past_its_timeout_and_names_the_problem(worker: Path, tmp_path: Path) -> None:
    done = run_script(worker, 2, ["barrier", str(tmp_path)], timeout_s=60)
    assert done.returncode != 0
    assert "rank 0: not every rank reached 'checkpoint' within 2 s" in done.stderr
    assert "Rank 1 failed to pass monitoredBarrier" in done.stderr


def _reference() -> dict[str, torch.Tensor]:
    """The three AdamW steps of the worker, in one process on the whole batch."""
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=6, hidden=(16, 16), num_classes=3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(12, 6, generator=g), torch.randint(0, 3, (12,), generator=g)
    for _ in range(3):
        nn.functional.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        optimizer.step()
        optimizer.zero_grad()
    return {k: v.detach() for k, v in model.state_dict().items()}


def test_fsdp2_trains_like_one_process_and_its_sharded_checkpoint_reshards(worker: Path, tmp_path: Path) -> None:
    """FSDP2 per-block sharding on CPU/gloo; weights saved by two ranks, loaded by three, exported whole."""
    trained = run_script(worker, 2, ["train", str(tmp_path)], timeout_s=60)
    assert trained.returncode == 0, trained.stderr[-3000:]
    shards = sorted(p.name for p in (tmp_path / "sharded" / "model").iterdir())
    assert len(shards) == 2 and all(name.endswith(".safetensors") for name in shards)  # one per rank, no pickle
    full = load_file(str(tmp_path / "trained-on-2.safetensors"))
    reference = _reference()
    assert full.keys() == reference.keys()
    difference = max(float((full[k] - reference[k]).abs().max()) for k in full)
    print(f"max |w_fsdp2 - w_single| = {difference:.3g}")
    assert difference <= 1e-6

    loaded = run_script(worker, 3, ["load", str(tmp_path)], timeout_s=60)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    resharded = load_file(str(tmp_path / "loaded-on-3.safetensors"))
    assert all(torch.equal(resharded[k], full[k]) for k in full)


def test_fsdp2_mixed_precision_computes_in_bf16_and_keeps_fp32_weights(worker: Path, tmp_path: Path) -> None:
    done = run_script(worker, 2, ["bf16", str(tmp_path)], timeout_s=60)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = r"rank (\d): compute torch.bfloat16, parameters torch.float32, gradients torch.float32"
    assert sorted(re.findall(expected, done.stdout)) == ["0", "1"]


@pytest.mark.skipif(
    torch.cuda.device_count() < 2, reason="needs two CUDA GPUs: FSDP2 CPU offload pins memory, which needs CUDA"
)
def test_fsdp2_cpu_offload_on_gpus(worker: Path, tmp_path: Path) -> None:
    done = run_script(worker, 2, ["offload", str(tmp_path)], timeout_s=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("parameters torch.float32") == 2
