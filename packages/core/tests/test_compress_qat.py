"""forge.core.compress: quantization-aware training (core.qat callback, convert_qat, forge compress --method qat)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from forge.core import load_model, registry, run_recipe
from forge.core.compress import QATCallback, compress_run, convert_qat, prepare_qat
from forge.core.compress._configs import QATConfig
from forge.core.errors import ConfigError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed")


def _mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model: torch.nn.Module = registry.build("model", "core.mlp", in_features=16, num_classes=4, hidden=[64])
    return model.eval()


def _linears(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("qat") / "parent"
    run_recipe("core/mlp", ["trainer.max_epochs=1", "data.num_samples=512"], run_dir=run_dir)
    return run_dir


def test_fake_quantization_is_active_and_is_what_the_int8_conversion_computes() -> None:
    from torchao.quantization import Int8Tensor
    from torchao.quantization.qat import FakeQuantizedLinear

    model = _mlp()
    weights = [layer.weight for layer in _linears(model)]
    keys = set(model.state_dict())
    x = torch.randn(64, 16) * 3
    with torch.no_grad():
        reference = model(x)
    fake = prepare_qat(copy.deepcopy(model))
    assert all(isinstance(m, FakeQuantizedLinear) for m in _linears(fake))
    assert set(fake.state_dict()) == keys  # checkpoints stay float state dicts of the same model
    with torch.no_grad():
        simulated = fake(x)
        diff = (simulated - reference).abs().max().item()
    assert 0 < diff < 0.1  # fake quantization changes the arithmetic, and only by int8 rounding
    # the swap keeps the very parameters an optimizer already holds
    in_place = prepare_qat(model)
    assert [layer.weight for layer in _linears(in_place)] == weights
    assert all(a is b for a, b in zip((layer.weight for layer in _linears(in_place)), weights, strict=True))
    converted = convert_qat(fake)
    assert all(isinstance(layer.weight, Int8Tensor) for layer in _linears(converted))
    assert all(layer.weight.qdata.dtype == torch.int8 for layer in _linears(converted))
    assert not any(isinstance(m, FakeQuantizedLinear) for m in converted.modules())
    with torch.no_grad():
        torch.testing.assert_close(converted(x), simulated, rtol=0, atol=1e-4)
    with pytest.raises(ConfigError, match="no nn.Linear"):
        prepare_qat(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


def test_qat_callback_fake_quantizes_from_its_start_step() -> None:
    model = _mlp()
    x = torch.randn(32, 16) * 3
    with torch.no_grad():
        reference = model(x)
    trainer = SimpleNamespace(unwrapped_model=model, global_step=0)
    cb = QATCallback(QATConfig(start_step=3))
    cb.on_train_start(trainer)
    assert cb.layers == ["blocks.0.0", "head"]
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference, rtol=0, atol=0)  # still float before start_step
    for step in (1, 2, 3):
        trainer.global_step = step
        cb.on_step_end(trainer, torch.tensor(0.0))
    with torch.no_grad():
        assert (model(x) - reference).abs().max().item() > 0


def test_compress_qat_fine_tunes_through_the_trainer_converts_and_exports(parent: Path, tmp_path: Path) -> None:
    from torchao.quantization import Int8Tensor

    result = compress_run(parent, "qat", out=tmp_path / "q", overrides=["trainer.max_epochs=2"])
    report = json.loads((tmp_path / "q" / "compress.json").read_text())
    assert report["method"] == "qat" and report["lineage"]["parent"] == str(parent.resolve())
    assert report["steps"] > 0
    config = json.loads((tmp_path / "q" / "config.json").read_text())
    assert [c["name"] for c in config["callbacks"]][:2] == ["core.init_from", "core.qat"]
    # the fine-tune moved the parent's weights
    before, after = load_model(parent, "best").state_dict(), load_model(tmp_path / "q", "last").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # an easy task: the int8 model keeps the parent's accuracy, and does at least as well as plain PTQ
    acc = report["metrics_after"]["accuracy"]
    assert acc >= report["metrics_before"]["accuracy"] - 0.05
    assert acc >= report["metrics_post_training"]["accuracy"] - 0.05
    assert set(report["metrics_after_float"]) == {"accuracy"}
    # the artifact is the converted int8 model: int8 matmuls in the graph, same outputs as a fresh conversion
    assert result.report["artifact_max_abs_diff"] == 0.0
    program = torch.export.load(str(tmp_path / "q" / "model.pt2"))
    assert "aten._int_mm.default" in {str(n.target) for n in program.graph.nodes}
    converted = convert_qat(load_model(tmp_path / "q", "last"))
    assert all(isinstance(layer.weight, Int8Tensor) for layer in _linears(converted))
    x = torch.randn(5, 16)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), converted(x))


def test_forge_compress_command_runs_qat(parent: Path, tmp_path: Path) -> None:
    from forge.core.cli import cli

    out = tmp_path / "cli"
    args = ["compress", str(parent), "--method", "qat", "--out", str(out), "--option", "start_step=2"]
    result = CliRunner().invoke(cli, [*args, "trainer.max_epochs=1"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "compress.json").read_text())
    assert report["options"] == {"start_step": 2} and (out / "model.pt2").is_file()
    qat = next(c for c in json.loads((out / "config.json").read_text())["callbacks"] if c["name"] == "core.qat")
    assert qat["start_step"] == 2
