"""forge.core.compress: quantization, pruning through the trainer, distillation, forge compress."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from forge.core import registry, run_recipe
from forge.core.compress import (
    DistillationModel,
    KDLoss,
    PruningCallback,
    compress_run,
    cubic_sparsity,
    quantize_dynamic,
    quantize_static,
    sparsity,
)
from forge.core.compress._configs import InitFromConfig, PruningConfig
from forge.core.compress._init import InitFromCallback
from forge.core.errors import CheckpointError, ConfigError, ExportError

needs_torchao = pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed")


def _mlp(hidden: list[int] | None = None, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model: torch.nn.Module = registry.build("model", "core.mlp", in_features=16, num_classes=4, hidden=hidden or [32])
    return model.eval()


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("compress") / "parent"
    run_recipe("core/mlp", ["trainer.max_epochs=1", "data.num_samples=512"], run_dir=run_dir)
    return run_dir


def test_cubic_schedule_follows_zhu_and_gupta() -> None:
    assert cubic_sparsity(0, 0.5, 10, 110) == 0.0
    assert cubic_sparsity(10, 0.5, 10, 110) == 0.0
    assert cubic_sparsity(60, 0.5, 10, 110) == pytest.approx(0.5 - 0.5 * 0.5**3)
    assert cubic_sparsity(110, 0.5, 10, 110) == 0.5 and cubic_sparsity(500, 0.5, 10, 110) == 0.5


def _fake_trainer(model: torch.nn.Module, step: int = 0) -> SimpleNamespace:
    return SimpleNamespace(unwrapped_model=model, global_step=step)


def test_pruning_reaches_its_sparsity_and_keeps_zeros_through_updates() -> None:
    model = _mlp()
    cb = PruningCallback(PruningConfig(sparsity=0.75, end_step=4, every=1))
    trainer = _fake_trainer(model)
    cb.on_train_start(trainer)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1, 7):
        opt.zero_grad()
        model(torch.randn(8, 16)).sum().backward()
        opt.step()
        trainer.global_step = step
        cb.on_step_end(trainer, torch.tensor(0.0))
    for layer in (m for m in model.modules() if isinstance(m, torch.nn.Linear)):
        zero = float((layer.weight == 0).float().mean())
        assert zero == pytest.approx(0.75, abs=1.0 / layer.weight.numel())
    assert sparsity(model) == pytest.approx(0.75, abs=0.01)
    # the masks survive a checkpoint round trip and are applied again on resume
    state: dict[str, object] = {}
    cb.on_save_checkpoint(trainer, state)
    fresh = PruningCallback(PruningConfig(sparsity=0.75, end_step=4, every=1))
    fresh.on_load_checkpoint(trainer, state)
    other = _mlp(seed=1)
    fresh.on_train_start(_fake_trainer(other, step=6))
    for a, b in zip(fresh.masks.values(), cb.masks.values(), strict=True):
        assert torch.equal(a, b)
    assert sparsity(other) == pytest.approx(0.75, abs=0.01)


def test_structured_pruning_zeroes_whole_channels_with_the_smallest_norm() -> None:
    layer = torch.nn.Linear(4, 6)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1, 7, dtype=torch.float32)[:, None].expand(6, 4))
    cb = PruningCallback(PruningConfig(sparsity=0.5, structured=True, end_step=1, layers="linear"))
    cb.on_train_start(_fake_trainer(layer))
    cb.on_train_end(_fake_trainer(layer, step=1))
    rows_zero = (layer.weight == 0).all(dim=1)
    assert rows_zero.tolist() == [True, True, True, False, False, False]


def test_kd_loss_is_the_hinton_mixture() -> None:
    torch.manual_seed(0)
    s, t, y = torch.randn(5, 3), torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    T, alpha = 3.0, 0.7
    p_t = torch.softmax(t / T, dim=-1)
    kl = (p_t * (p_t.log() - torch.log_softmax(s / T, dim=-1))).sum(dim=-1).mean()
    expected = alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, y)
    assert KDLoss(T, alpha)((s, t), y).item() == pytest.approx(expected.item(), rel=1e-5)
    assert KDLoss(T, alpha)(s, y).item() == pytest.approx(F.cross_entropy(s, y).item())


def test_distillation_model_saves_only_the_student() -> None:
    student, teacher = _mlp([8]), _mlp([64], seed=3)
    wrapped = DistillationModel(student, teacher)
    assert set(wrapped.state_dict()) == set(student.state_dict())
    assert sum(p.numel() for p in wrapped.parameters()) == sum(p.numel() for p in student.parameters())
    x = torch.randn(4, 16)
    wrapped.train()
    out, target = wrapped(x)
    torch.testing.assert_close(target, teacher(x))
    bare = _mlp([8], seed=9)
    bare.load_state_dict(wrapped.state_dict())
    wrapped.eval()
    torch.testing.assert_close(wrapped(x), bare(x))
    fresh = DistillationModel(_mlp([8], seed=5), teacher)
    fresh.load_state_dict(student.state_dict())
    torch.testing.assert_close(fresh.eval()(x), bare(x))


@needs_torchao
def test_dynamic_int8_stays_close_and_refuses_models_without_linear_layers() -> None:
    model = _mlp([64])
    x = torch.randn(32, 16)
    q = quantize_dynamic(model)
    with torch.no_grad():
        diff = (q(x) - model(x)).abs().max().item()
    assert 0 < diff < 0.1  # it really changed the arithmetic, and only a little
    with pytest.raises(ExportError, match=r"no nn\.Linear"):
        quantize_dynamic(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


@needs_torchao
def test_static_int8_is_calibrated_and_close() -> None:
    model = _mlp([64])
    calib = [(torch.randn(16, 16),) for _ in range(4)]
    q = quantize_static(model, (torch.randn(2, 16),), calib)
    x = torch.randn(5, 16)
    with torch.no_grad():
        assert (q(x) - model(x)).abs().max().item() < 0.15
    with pytest.raises(ExportError, match="no batch"):
        quantize_static(model, (torch.randn(2, 16),), [])


def test_init_from_loads_the_parent_only_for_new_runs(parent: Path) -> None:
    from forge.core import load_model

    reference = load_model(parent, "best")
    model = _mlp([64, 64], seed=7)
    cb = InitFromCallback(InitFromConfig(run_dir=str(parent)))
    cb.on_train_start(_fake_trainer(model))
    for a, b in zip(model.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    resumed = _mlp([64, 64], seed=7)
    before = {k: v.clone() for k, v in resumed.state_dict().items()}
    cb.on_train_start(_fake_trainer(resumed, step=5))
    assert all(torch.equal(before[k], v) for k, v in resumed.state_dict().items())
    with pytest.raises(CheckpointError, match="does not fit this model.*strict = false"):
        InitFromCallback(InitFromConfig(run_dir=str(parent))).on_train_start(_fake_trainer(_mlp([8])))


@needs_torchao
def test_compress_dynamic_int8_writes_a_new_run_with_lineage(parent: Path, tmp_path: Path) -> None:
    result = compress_run(parent, "dynamic_int8", out=tmp_path / "q")
    report = json.loads((tmp_path / "q" / "compress.json").read_text())
    assert report["lineage"]["parent"] == str(parent.resolve())
    assert report["metrics_after"]["accuracy"] >= report["metrics_before"]["accuracy"] - 0.05
    assert result.report["artifact_max_abs_diff"] == 0.0
    assert report["backend"] == "pt2e"  # the default: the parent's example batch lets it capture the model
    program = torch.export.load(str(tmp_path / "q" / "model.pt2")).module()
    assert program(torch.randn(3, 16)).shape == (3, 4)
    with pytest.raises(ConfigError, match="already exists"):
        compress_run(parent, "dynamic_int8", out=tmp_path / "q")
    other = compress_run(parent, "dynamic_int8", out=tmp_path / "t", options={"backend": "torchao"})
    assert other.report["backend"] == "torchao" and other.report["options"] == {"backend": "torchao"}
    with pytest.raises(ConfigError, match="backend"):
        compress_run(parent, "dynamic_int8", out=tmp_path / "b", options={"backend": "fbgemm"})
    with pytest.raises(ConfigError, match="known: backend"):
        compress_run(parent, "dynamic_int8", out=tmp_path / "c", options={"bits": 4})


def test_compress_prune_and_distill_train_through_the_trainer(parent: Path, tmp_path: Path) -> None:
    pruned = compress_run(
        parent,
        "prune",
        out=tmp_path / "p",
        options={"sparsity": 0.5, "end_step": 4, "every": 2},
        overrides=["trainer.max_epochs=1"],
    )
    assert pruned.report["sparsity"] == pytest.approx(0.5, abs=0.01)
    from forge.core import load_model

    assert sparsity(load_model(tmp_path / "p", "last")) == pytest.approx(0.5, abs=0.01)
    distilled = compress_run(
        parent,
        "distill",
        out=tmp_path / "d",
        options={"student": {"name": "core.mlp", "hidden": [16]}, "temperature": 2.0},
        overrides=["trainer.max_epochs=4", "optimizer.lr=0.02"],
    )
    assert distilled.report["parameters_after"] < distilled.report["parameters_before"] / 8
    assert distilled.report["metrics_after"]["accuracy"] > 0.4  # 4 classes: well above chance
    with pytest.raises(ConfigError, match="options.student"):
        compress_run(parent, "distill", out=tmp_path / "x", options={})
    with pytest.raises(ConfigError, match="expected one of"):
        compress_run(parent, "zip", out=tmp_path / "y")


def test_forge_compress_command_parses_nested_options(parent: Path, tmp_path: Path) -> None:
    from forge.core.cli import cli

    out = tmp_path / "cli"
    args = ["compress", str(parent), "--method", "distill", "--out", str(out)]
    args += ["--option", "student.name=core.mlp", "--option", "student.hidden=[4]", "trainer.max_epochs=1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "compress.json").read_text())["options"]["student"] == {"name": "core.mlp", "hidden": [4]}
