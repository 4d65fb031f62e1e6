"""forge.core.distributed in one process: who a process is, launch arguments, backends, DDP settings, blocks."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from forge.core._logging import configure_logging, get_logger, set_rank
from forge.core._run import RunDir
from forge.core.config import structure
from forge.core.distributed import DistributedConfig, DistributedError, FSDPConfig
from forge.core.distributed._comm_profile import communication_summary, is_communication
from forge.core.distributed._env import adopt_slurm_env, detect_env, rank_seed
from forge.core.distributed._fsdp import declared_blocks
from forge.core.distributed._launch import WORKER_MODULE, _describe, torchrun_args
from forge.core.distributed._process import accelerator_kwargs, barrier, broadcast_text, resolve_backend
from forge.core.distributed._sharded import load_sharded
from forge.core.errors import CheckpointError, ConfigError
from forge.core.trainer._checkpointing import loader_position, reshard_position


def test_detect_env_reads_torchrun_variables() -> None:
    env = detect_env({"RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"})
    assert (env.rank, env.world_size, env.local_rank, env.local_world_size) == (2, 4, 0, 2)
    assert env.is_distributed and not env.is_main
    alone = detect_env({})
    assert (alone.rank, alone.world_size) == (0, 1) and alone.is_main and not alone.is_distributed


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"RANK": "4", "WORLD_SIZE": "4"}, "RANK=4 is not in"), ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two'")],
)
def test_detect_env_refuses_inconsistent_variables(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        detect_env(environ)


def test_slurm_variables_become_torch_variables() -> None:
    environ = {
        "SLURM_PROCID": "5",
        "SLURM_NTASKS": "8",
        "SLURM_LOCALID": "1",
        "SLURM_NTASKS_PER_NODE": "4(x2)",
        "MASTER_ADDR": "node1",
        "MASTER_PORT": "29500",
    }
    assert adopt_slurm_env(environ)
    env = detect_env(environ)
    assert (env.rank, env.world_size, env.local_rank, env.local_world_size) == (5, 8, 1, 4)


def test_slurm_without_rendezvous_address_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="MASTER_ADDR and MASTER_PORT is not set"):
        adopt_slurm_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"})


def test_slurm_is_ignored_under_torchrun_and_for_single_tasks() -> None:
    under_torchrun = {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "RANK": "3", "WORLD_SIZE": "4"}
    assert not adopt_slurm_env(under_torchrun) and under_torchrun["RANK"] == "3"
    assert not adopt_slurm_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"})


def test_rank_seed_keeps_rank_zero_and_separates_the_others() -> None:
    assert rank_seed(7, 0) == 7
    seeds = {rank_seed(7, r) for r in range(8)}
    assert len(seeds) == 8 and all(0 <= s < 2**32 for s in seeds)
    assert rank_seed(7, 3) == rank_seed(7, 3) != rank_seed(8, 3)


def test_one_node_launches_standalone_through_the_worker_module() -> None:
    args = torchrun_args(["train", "core/mlp", "trainer.max_epochs=1"], nproc_per_node=2)
    assert args[args.index("--nproc-per-node") + 1] == "2"
    assert "--standalone" in args and "--rdzv-endpoint" not in args
    assert args[-5:] == ["--module", WORKER_MODULE, "train", "core/mlp", "trainer.max_epochs=1"]
    assert args[args.index("--max-restarts") + 1] == "0"


def test_several_nodes_meet_at_the_endpoint() -> None:
    args = torchrun_args(["train", "r.toml"], nproc_per_node=8, nnodes=2, rdzv_endpoint="n1:29400", node_rank=1)
    assert "--standalone" not in args
    assert args[args.index("--rdzv-endpoint") + 1] == "n1:29400"
    # a given node rank is kept (static rendezvous: torch's c10d one would ignore it)
    assert args[args.index("--rdzv-backend") + 1] == "static"
    assert args[args.index("--node-rank") + 1] == "1"
    arrival = torchrun_args(["train", "r.toml"], nproc_per_node=8, nnodes=2, rdzv_endpoint="n1:29400")
    assert arrival[arrival.index("--rdzv-backend") + 1] == "c10d" and "--node-rank" not in arrival
    with pytest.raises(DistributedError, match="--node-rank 2"):
        torchrun_args(["train", "r.toml"], nproc_per_node=8, nnodes=2, rdzv_endpoint="n1:29400", node_rank=2)
    with pytest.raises(DistributedError, match="--rdzv-endpoint"):
        torchrun_args(["train", "r.toml"], nproc_per_node=8, nnodes=2)
    with pytest.raises(DistributedError, match="at least 1"):
        torchrun_args(["train"], nproc_per_node=0)


def test_the_launch_failure_names_the_first_failing_rank() -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    killed = ProcessFailure(local_rank=1, pid=123, exitcode=-9, error_file="/nonexistent")
    text = _describe(ChildFailedError("forge", {1: killed}))
    assert text.startswith("rank 1 (local rank 1) was killed by SIGKILL")
    assert "other ranks were stopped" in text


def test_backend_follows_the_device_unless_set() -> None:
    assert resolve_backend(DistributedConfig(), "cuda") == "nccl"
    assert resolve_backend(DistributedConfig(), "cpu") == "gloo"
    assert resolve_backend(DistributedConfig(backend="gloo"), "cuda") == "gloo"
    with pytest.raises(DistributedError, match="'nccl' needs CUDA"):
        resolve_backend(DistributedConfig(backend="nccl"), "cpu")


def test_accelerator_gets_the_ddp_settings_and_the_timeout() -> None:
    config = DistributedConfig(
        find_unused_parameters=True, bucket_cap_mb=5.0, static_graph=True, gradient_as_bucket_view=False, timeout_s=42
    )
    ddp, group = accelerator_kwargs(config, "cpu")
    assert ddp.find_unused_parameters and ddp.static_graph and not ddp.gradient_as_bucket_view
    assert ddp.bucket_cap_mb == 5.0
    assert group.backend == "gloo" and group.timeout == datetime.timedelta(seconds=42)


def test_the_config_section_is_checked_with_key_paths() -> None:
    config = structure({"bucket_cap_mb": 50, "fsdp": {"param_dtype": "bf16", "cpu_offload": True}}, DistributedConfig)
    assert config.bucket_cap_mb == 50 and config.fsdp == FSDPConfig(param_dtype="bf16", cpu_offload=True)
    with pytest.raises(ConfigError, match="timeout_s"):
        structure({"timeout_s": 0}, DistributedConfig)
    with pytest.raises(ConfigError, match="strategy"):
        structure({"strategy": "zero3"}, DistributedConfig)


def test_without_a_process_group_barriers_and_broadcasts_are_local() -> None:
    barrier("anything", timeout_s=1)  # no process group: returns at once
    assert broadcast_text("runs/x") == "runs/x"
    with pytest.raises(DistributedError, match="no text"):
        broadcast_text(None)


class _Declared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

    def shard_blocks(self) -> list[nn.Module]:
        return [self.a, self.b]


def test_declared_blocks_come_from_shard_blocks_or_a_blocks_list() -> None:
    from forge.core.models._configs import MLPConfig
    from forge.core.models._mlp import MLP

    mlp = MLP(MLPConfig(in_features=4, hidden=(8, 8), num_classes=2))
    assert declared_blocks(mlp) == list(mlp.blocks)
    declared = _Declared()
    assert declared_blocks(declared) == [declared.a, declared.b]
    assert declared_blocks(nn.Linear(2, 2)) == []


def test_declared_blocks_must_be_modules() -> None:
    class Bad(nn.Module):
        def shard_blocks(self) -> list[object]:
            return [torch.zeros(1)]

    with pytest.raises(ConfigError, match="non-modules: Tensor"):
        declared_blocks(Bad())


def test_one_process_gets_no_process_group_settings() -> None:
    (ddp,) = accelerator_kwargs(DistributedConfig(), "cpu", multi_process=False)
    assert type(ddp).__name__ == "DistributedDataParallelKwargs"


def test_a_missing_sharded_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no sharded checkpoint here"):
        load_sharded(tmp_path, nn.Linear(2, 2))


def test_a_follower_reads_the_run_directory_but_writes_nothing(tmp_path: Path) -> None:
    writer = RunDir(tmp_path / "run")
    writer.write_config({"seed": 1})
    follower = RunDir.follower(tmp_path / "run")
    assert follower.read_config() == {"seed": 1}
    follower.write_config({"seed": 2})
    follower.log_step({"step": 1})
    follower.write_metrics({"a": 1.0})
    follower.write_lineage(dataset=None, config={})
    assert follower.update_config({"seed": 3}, reason="resume") == {"seed": [1, 3]}
    follower.discard()
    assert writer.read_config() == {"seed": 1}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoints", "config.json", "config.toml"]
    assert not (tmp_path / "elsewhere").exists() and not RunDir.follower(tmp_path / "elsewhere").path.exists()


@pytest.mark.parametrize(
    ("index", "saved", "world", "expected"),
    [(24, 2, 1, 48), (24, 2, 3, 16), (16, 3, 2, 24), (10, 2, 2, 10)],
)
def test_a_mid_epoch_position_moves_to_another_world_size(index: int, saved: int, world: int, expected: int) -> None:
    state, batches = reshard_position({"epoch": 1, "index": index}, 3, saved, world, 8, where=Path("ckpt"))
    assert state == {"epoch": 1, "index": expected}
    assert batches == -(-expected // 8)


def test_a_position_other_ranks_cannot_share_is_refused_with_what_to_do() -> None:
    with pytest.raises(CheckpointError, match="resume with 2 processes, or from a checkpoint saved at an epoch end"):
        reshard_position({"epoch": 0, "index": 5}, 1, 2, 3, 5, where=Path("ckpt"))
    assert reshard_position({"epoch": 2, "index": 0}, 0, 2, 3, 5, where=Path("c")) == ({"epoch": 2, "index": 0}, 0)
    assert reshard_position(None, 4, 2, 3, 5, where=Path("c")) == (None, 4)


def test_an_accelerate_loader_without_state_keeps_no_position() -> None:
    class DataLoaderShard:  # accelerate's class name and module, without a usable state_dict
        __module__ = "accelerate.data_loader"
        use_stateful_dataloader = False

        def state_dict(self) -> dict[str, int]:
            raise AttributeError("'DataLoader' object has no attribute 'dl_state_dict'")

    assert loader_position(DataLoaderShard()) is None  # type: ignore[arg-type]  # a stand-in loader
    assert loader_position(None) is None


def test_other_ranks_log_errors_only_and_every_line_names_its_rank() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", level="info", stream=stream)
    log = get_logger("forge.test")
    try:
        set_rank(1, 2)
        log.info("hidden")
        log.error("shown", what="boom")
        set_rank(0, 2)
        log.info("from_rank_zero")
    finally:
        set_rank(0, 1)
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e["rank"]) for e in lines] == [("shown", 1), ("from_rank_zero", 0)]


class _Op:
    def __init__(self, key: str, cpu: float, device: float = 0.0, count: int = 1) -> None:
        self.key, self.self_cpu_time_total, self.self_device_time_total, self.count = key, cpu, device, count


def test_communication_and_compute_are_told_apart() -> None:
    ops = [
        _Op("c10d::allreduce_", 30.0, count=3),
        _Op("aten::addmm", 50.0),
        _Op("nccl:all_reduce", 0.0, device=40.0),
        _Op("aten::mm", 20.0, device=60.0),
    ]
    cpu = communication_summary(ops, device=False)
    assert (cpu["communication_us"], cpu["compute_us"]) == (30.0, 70.0)
    assert cpu["communication_share"] == pytest.approx(0.3)
    assert cpu["communication_ops"][0] == {"name": "c10d::allreduce_", "time_us": 30.0, "count": 3}
    gpu = communication_summary(ops, device=True)
    assert gpu["clock"] == "device" and gpu["communication_share"] == pytest.approx(0.4)
    assert communication_summary([], device=False)["communication_share"] == 0.0
    assert not is_communication("aten::all") and is_communication("record_param_comms")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_fsdp_cpu_offload_without_a_gpu_is_refused_by_key() -> None:
    from forge.core.distributed import shard_model

    with pytest.raises(ConfigError, match="fsdp.cpu_offload: needs CUDA"):
        shard_model(nn.Linear(2, 2), FSDPConfig(cpu_offload=True))


def test_run_script_with_no_processes_runs_one_plain_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forge.core.distributed import run_script

    script = tmp_path / "show.py"
    script.write_text("import os, sys\nprint(os.environ.get('RANK'), os.environ.get('WORLD_SIZE'), sys.argv[1])\n")
    monkeypatch.setenv("RANK", "3")  # as if this test itself ran under a launcher
    plain = run_script(script, 0, ["x"], timeout_s=60)
    assert (plain.returncode, plain.stdout.split()) == (0, ["None", "None", "x"])
    launched = run_script(script, 1, ["y"], timeout_s=60)
    assert (launched.returncode, launched.stdout.split()) == (0, ["0", "1", "y"])
