"""forge.core.export: every format verified against eager, manifests with lineage, refusals."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from forge.core import registry, run_recipe
from forge.core.errors import ExportError
from forge.core.export import Artifact, export_model, export_run, read_manifest, verify_artifact
from forge.core.export import _run as export_impl

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    model: torch.nn.Module = registry.build("model", "core.mlp", in_features=8, num_classes=3, hidden=[16])
    return model.eval()


def _plain() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 3)).eval()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("export") / "run"
    run_recipe("core/mlp", ["trainer.max_epochs=1", "data.num_samples=256"], run_dir=run_dir)
    return run_dir


def _reload(fmt: str, path: Path) -> Any:
    if fmt == "torch_export":
        return torch.export.load(str(path)).module()
    if fmt == "torchscript":
        return torch.jit.load(str(path))
    if fmt == "aoti":
        import torch._inductor as inductor

        return inductor.aoti_load_package(str(path))
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("torch_export", {}),
        pytest.param("onnx", {"opset": 18}, marks=pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxruntime missing")),
        ("torchscript", {"method": "trace"}),
        ("torchscript", {"method": "script"}),
        ("aoti", {}),
    ],
)
def test_each_format_matches_eager_after_reloading(tmp_path: Path, fmt: str, options: dict[str, Any]) -> None:
    # core.mlp's forward holds a Python-only branch (activation checkpointing) that script cannot compile
    model = _plain() if options.get("method") == "script" else _mlp()
    result = export_model(model, (torch.randn(2, 8),), tmp_path / "e", format=fmt, options=options)
    manifest = read_manifest(tmp_path / "e")
    assert manifest == json.loads(json.dumps(result.manifest, default=str))
    assert manifest["verification"]["ok"] and manifest["exporter"] == f"core.{fmt}"
    assert manifest["inputs"] == [{"name": "input_0", "shape": ["batch", 8], "dtype": "float32"}]
    (entry,) = manifest["files"]
    artifact = tmp_path / "e" / entry["name"]
    assert entry["sha256"] == _sha(artifact) and entry["bytes"] == artifact.stat().st_size
    # reloaded the standard way, on a batch size the export never saw
    x = torch.randn(7, 8)
    with torch.no_grad():
        torch.testing.assert_close(_reload(fmt, artifact)(x), model(x), rtol=1e-4, atol=1e-5)


def test_verification_catches_a_disagreeing_artifact() -> None:
    model = _mlp()
    bad = Artifact("fake", (), lambda x: model(x) + 1e-2)
    report = verify_artifact(model, bad, (torch.randn(2, 8),))
    assert not report.ok
    assert report.outputs[0].max_abs == pytest.approx(1e-2, rel=1e-3)
    good = Artifact("same", (), lambda x: model(x))
    assert verify_artifact(model, good, (torch.randn(2, 8),)).ok


class _Perturbing:
    format = "perturbed"

    def export(self, model: torch.nn.Module, example: tuple[torch.Tensor, ...], directory: Path) -> Artifact:
        (directory / "model.bin").write_bytes(b"x")
        return Artifact(self.format, ("model.bin",), lambda x: model(x) * 1.5)


def test_a_failed_verification_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_impl, "_exporter", lambda name, options: ("test.perturbed", _Perturbing()))
    with pytest.raises(ExportError, match="disagrees with the eager model.*nothing was written"):
        export_model(_mlp(), (torch.randn(2, 8),), tmp_path / "e", format="perturbed")
    assert list(tmp_path.iterdir()) == []


def test_refusals_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="at least 2"):
        export_model(_mlp(), (torch.randn(1, 8),), tmp_path / "one", format="torch_export")
    if importlib.util.find_spec("torch_tensorrt") is None:
        with pytest.raises(ExportError, match="torch_tensorrt.*not installed"):
            export_model(_mlp(), (torch.randn(2, 8),), tmp_path / "trt", format="tensorrt")
    with pytest.raises(ExportError, match="no export manifest"):
        read_manifest(tmp_path)
    (tmp_path / "export.json").write_text("{trunc")
    with pytest.raises(ExportError, match="damaged export manifest"):
        read_manifest(tmp_path)


def test_a_model_torch_export_cannot_trace_gets_an_export_error(tmp_path: Path) -> None:
    class DataDependent(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # Python control flow on a tensor's value: no graph can hold both branches
                return x * 2
            return x - 1

    with pytest.raises(ExportError, match="torch.export could not trace"):
        export_model(DataDependent(), (torch.randn(2, 8),), tmp_path / "f", format="torch_export")
    with pytest.raises(ExportError, match=r"TorchScript \(script\) failed"):
        export_model(_mlp(), (torch.randn(2, 8),), tmp_path / "e", format="torchscript", options={"method": "script"})
    assert list(tmp_path.iterdir()) == []


def test_export_run_records_lineage_and_refuses_to_overwrite(trained_run: Path) -> None:
    result = export_run(trained_run, "torch_export")
    assert result.directory == trained_run / "exports" / "torch_export"
    lineage = result.manifest["lineage"]
    assert lineage["model"] == "core.mlp" and lineage["checkpoint"]["which"] == "best"
    ckpt_dir = trained_run / lineage["checkpoint"]["path"]
    assert ckpt_dir.is_dir() and lineage["checkpoint"]["step"] == int(ckpt_dir.name.split("-")[1])
    assert len(lineage["checkpoint"]["sha256"]) == 64
    assert result.manifest["inputs"][0]["shape"] == ["batch", 16]  # from the run's data, not a guess
    with pytest.raises(ExportError, match="already exists"):
        export_run(trained_run, "torch_export")
    again = export_run(trained_run, "torch_export", which="last", overwrite=True)
    assert again.manifest["lineage"]["checkpoint"]["which"] == "last"


def test_forge_export_command(trained_run: Path, tmp_path: Path) -> None:
    from forge.core.cli import cli

    out = tmp_path / "ts"
    result = CliRunner().invoke(
        cli, ["export", str(trained_run), "--format", "onnx", "--option", "opset=17", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["verified"] is True and summary["format"] == "onnx"
    assert read_manifest(out)["options"] == {"opset": 17} and read_manifest(out)["details"]["opset"] == 17
    bad = CliRunner().invoke(cli, ["export", str(trained_run), "--option", "opset"])
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.output
