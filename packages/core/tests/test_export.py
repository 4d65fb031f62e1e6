"""forge.core.export: every format verified against eager, manifests with lineage, refusals."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.utils._pytree as pytree
from click.testing import CliRunner

from forge.core import registry, run_recipe
from forge.core._digest import directory_sha256, file_sha256
from forge.core.errors import ExportError
from forge.core.export import Artifact, ExportableInput, export_model, export_run, read_manifest, verify_artifact
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
    # one digest over the checkpoint's files: relative path and SHA-256 of each, in sorted order
    manual = hashlib.sha256()
    for p in sorted(q for q in ckpt_dir.rglob("*") if q.is_file()):
        manual.update(p.relative_to(ckpt_dir).as_posix().encode() + _sha(p).encode())
    assert lineage["checkpoint"]["sha256"] == manual.hexdigest() == directory_sha256(ckpt_dir)
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


class _Picks:
    """A registered pytree input whose ``index`` must name rows of ``values`` (no generic sampler can know)."""

    def __init__(self, values: torch.Tensor, index: torch.Tensor) -> None:
        self.values, self.index = values, index


class _SampledPicks(_Picks):
    """The same, implementing ExportableInput: named dynamic dimensions and a valid sampler."""

    def export_dynamic_dims(self) -> list[dict[int, str] | None]:
        return [{0: "rows"}, {0: "picks"}]

    def export_sample(self, size: int, generator: torch.Generator) -> _SampledPicks:
        rows = self.values.shape[0] + size
        values = torch.randn(rows, self.values.shape[1], generator=generator)
        return _SampledPicks(values, torch.randint(0, rows, (self.index.shape[0] + 2 * size,), generator=generator))


def _picks_with_keys(p: _Picks) -> tuple[list[tuple[Any, torch.Tensor]], None]:
    return [(pytree.GetAttrKey("values"), p.values), (pytree.GetAttrKey("index"), p.index)], None


for _cls in (_Picks, _SampledPicks):
    if _cls not in pytree.SUPPORTED_NODES:  # idempotent: the module may be imported twice
        pytree.register_pytree_node(
            _cls,
            lambda p: ([p.values, p.index], None),
            lambda children, _, cls=_cls: cls(*children),
            serialized_type_name=f"{__name__}.{_cls.__name__}",
            flatten_with_keys_fn=_picks_with_keys,
        )
    torch.serialization.add_safe_globals([_cls])  # ExportedProgram keeps its example inputs


class _Gather(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, picks: _Picks) -> torch.Tensor:
        out: torch.Tensor = self.linear(picks.values).index_select(0, picks.index)
        return out


class _TwoInputs(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = torch.nn.Linear(4, 3), torch.nn.Linear(2, 3)

    def forward(self, inputs: dict[str, torch.Tensor], scale: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        out: torch.Tensor = (self.a(inputs["a"]) + self.b(inputs["b"])) * scale[0] + scale[1]
        return out


@pytest.mark.parametrize(
    "fmt",
    ["torch_export", pytest.param("onnx", marks=pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxruntime missing"))],
)
def test_containers_of_tensors_export_with_every_leaf_batched(tmp_path: Path, fmt: str) -> None:
    torch.manual_seed(0)
    model = _TwoInputs().eval()
    example = ({"a": torch.randn(2, 4), "b": torch.randn(2, 2)}, (torch.rand(2, 1), torch.randn(2, 3)))
    manifest = export_model(model, example, tmp_path / "e", format=fmt).manifest
    report = manifest["verification"]
    assert report["ok"] and report["verified_on"] == "fresh" and list(report["batch_sizes"]) == [3, 5]
    assert [(i["name"], i["shape"]) for i in manifest["inputs"]] == [
        ("input_0.a", ["batch", 4]),
        ("input_0.b", ["batch", 2]),
        ("input_1.0", ["batch", 1]),
        ("input_1.1", ["batch", 3]),
    ]


def test_an_exportable_input_names_its_dims_and_draws_the_verification_inputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Gather().eval()
    example = _SampledPicks(torch.randn(6, 4), torch.tensor([0, 5, 2, 2, 1]))
    assert isinstance(example, ExportableInput) and not isinstance(
        _Picks(example.values, example.index), ExportableInput
    )
    result = export_model(model, example, tmp_path / "e", format="torch_export")  # one input, not a tuple of them
    manifest = result.manifest
    assert manifest["verification"]["verified_on"] == "fresh" and manifest["verification"]["ok"]
    assert [(i["name"], i["shape"]) for i in manifest["inputs"]] == [
        ("input_0.values", ["rows", 4]),
        ("input_0.index", ["picks"]),
    ]
    program = torch.export.load(str(tmp_path / "e" / "model.pt2")).module()
    other = example.export_sample(7, torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(program(other), model(other))
    assert other.index.shape[0] == 19 != example.index.shape[0]


def test_a_pytree_input_without_a_sampler_is_verified_on_the_example() -> None:
    model = _Gather().eval()
    example = (_Picks(torch.randn(6, 4), torch.tensor([0, 5, 2])),)
    report = verify_artifact(model, Artifact("same", (), model), example)
    assert report.ok and report.verified_on == "example" and report.batch_sizes == ()
    bad = verify_artifact(model, Artifact("off", (), lambda p: model(p) + 1.0), example)
    assert not bad.ok and bad.outputs[0].max_abs == pytest.approx(1.0)
    plain = verify_artifact(_mlp(), Artifact("same", (), _mlp()), (torch.randn(2, 8),))
    assert plain.verified_on == "fresh" and plain.batch_sizes == (3, 5)


def test_pytree_inputs_that_cannot_export_are_refused_by_name(tmp_path: Path) -> None:
    small = _SampledPicks(torch.randn(6, 4), torch.tensor([3]))  # one pick: its dynamic size would be specialized
    with pytest.raises(ExportError, match=r"input_0\.index to have at least 2 along its dynamic dimension 0 \(picks\)"):
        export_model(_Gather(), small, tmp_path / "a", format="torch_export")
    with pytest.raises(ExportError, match="input_0 is a object, neither a tensor nor a pytree"):
        export_model(_Gather(), (object(),), tmp_path / "b", format="torch_export")
    assert list(tmp_path.iterdir()) == []


def test_export_hashes_files_with_the_one_file_digest(tmp_path: Path) -> None:
    result = export_model(_mlp(), (torch.randn(2, 8),), tmp_path / "e", format="torch_export")
    (entry,) = result.manifest["files"]
    assert entry["sha256"] == file_sha256(tmp_path / "e" / entry["name"]) == _sha(tmp_path / "e" / entry["name"])
