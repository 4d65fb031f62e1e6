"""Exporting graph models: Graph as a pytree, its dynamic sizes and sampler, every registered model per format.

Every model is exported with its registered defaults (``backend="auto"``): the layers run their CSR
product in eager and take the scatter path while traced, so each export is verified against the
eager CSR computation.
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.utils._pytree as pytree

from forge.core import load_model, registry, run_recipe
from forge.core._plugins import import_object
from forge.core.errors import ExportError
from forge.core.export import ExportableInput, export_model, export_run
from forge.graph import data as graph_data
from forge.graph.data import GRAPH_FIELDS, Graph, collate_graphs
from forge.graph.nn import SAGEConv, conv, ops
from forge.graph.nn.ops import scatter_mean, scatter_sum, tracing

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
GRAPH_MODELS = sorted(s.name for s in registry.list("model") if s.provider == "graph")

# What fails, and why (docs/deploy.md lists the same). A limit that goes away fails its test: update both.
# None is left for the registered defaults (the bincount-based counts and the CSR adjacency that
# stopped GraphSAGE, mean readouts and the default backend are gone from every traced path).
KNOWN_LIMITS: dict[tuple[str, str], str] = {}


def _ring(n: int, features: int = 3, seed: int = 0) -> Graph:
    src = torch.arange(n)
    dst = (src + 1) % n
    ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    return Graph(x=torch.randn(n, features, generator=torch.Generator().manual_seed(seed)), edge_index=ei)


def _build(name: str, **overrides: Any) -> tuple[torch.nn.Module, tuple[Any, ...]]:
    """The model from its registered defaults (plus ``overrides``) and its registered example input."""
    torch.manual_seed(0)
    model: torch.nn.Module = registry.build("model", name, **overrides).eval()
    spec = registry.get("model", name)
    assert spec.example is not None, f"{name} registers no example input"
    example = import_object(spec.example, what=f"example of {name}")(model.config)
    return model, example


def _uses_csr(name: str) -> bool:
    model = registry.build("model", name)
    return any(getattr(m, "backend", None) in ("auto", "csr") for m in model.modules())


def _reload(fmt: str, path: Path) -> Any:
    if fmt == "torch_export":
        return torch.export.load(str(path)).module()
    if fmt == "torchscript":
        ts = torch.jit.load(str(path))
        return lambda graph: ts(*[t for t in pytree.tree_leaves(graph) if isinstance(t, torch.Tensor)])
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}

    def run(graph: Graph) -> torch.Tensor:
        feeds = {f"input_0.{n}": v.numpy() for n, v in zip(GRAPH_FIELDS, graph, strict=True) if v is not None}
        return torch.from_numpy(session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0])

    return run


def test_graph_is_a_pytree_whose_leaves_are_its_tensors_and_registration_is_idempotent() -> None:
    graph = _ring(5).replace(y=torch.zeros(5, dtype=torch.int64))
    leaves, spec = pytree.tree_flatten(graph)
    assert len(leaves) == len(GRAPH_FIELDS)  # absent fields are None leaves (or no leaves, in older torch)
    tensors = [t for t in leaves if isinstance(t, torch.Tensor)]
    assert len(tensors) == 4  # roots, x, edge_index, y
    rebuilt = pytree.tree_unflatten([t * 1 if isinstance(t, torch.Tensor) else t for t in leaves], spec)
    assert type(rebuilt) is Graph and torch.equal(rebuilt.x, graph.x) and rebuilt.edge_weight is None
    paths = [pytree.keystr(p) for p, t in pytree.tree_flatten_with_path(graph)[0] if t is not None]
    assert paths == [".roots", ".x", ".edge_index", ".y"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on a second registration of a type
        graph_data._register_with_torch()
        graph_data._register_with_torch()
    # an ExportedProgram keeps its example inputs: they must load without falling back to pickle
    buffer = io.BytesIO()
    torch.save((graph,), buffer)
    buffer.seek(0)
    (loaded,) = torch.load(buffer, weights_only=True)
    assert type(loaded) is Graph and torch.equal(loaded.edge_index, graph.edge_index)


def test_dynamo_sees_through_a_graph() -> None:
    # the default backend: CSR in eager, the scatter path once compiled (whole, no graph break)
    model = registry.build("model", "graph.gcn", in_features=3, num_classes=2).eval()
    compiled = torch.compile(model, backend="eager", dynamic=True, fullgraph=True)
    with torch.no_grad():
        for n in (6, 9):
            torch.testing.assert_close(compiled(_ring(n)), model(_ring(n)))


def test_a_graph_names_its_dynamic_dims_and_samples_valid_graphs_of_other_sizes() -> None:
    graph = _ring(6).replace(edge_weight=torch.rand(12) + 0.5, train_mask=torch.ones(6, dtype=torch.bool))
    assert isinstance(graph, ExportableInput)
    dims = dict(zip(GRAPH_FIELDS, graph.export_dynamic_dims(), strict=True))
    assert dims["x"] == {0: "nodes"} and dims["edge_index"] == {1: "edges"} and dims["edge_weight"] == {0: "edges"}
    assert dims["roots"] is None and dims["batch"] is None  # one root; no batch field
    gen = torch.Generator().manual_seed(0)
    sample = graph.export_sample(3, gen)
    assert isinstance(sample, Graph)
    assert (sample.num_nodes, sample.num_edges) == (9, 18)
    assert sample.edge_weight is not None and sample.train_mask is not None and sample.y is None
    assert int(sample.edge_index.max()) < sample.num_nodes and float(sample.edge_weight.min()) >= 0.5

    batch = collate_graphs([_ring(4).replace(y=torch.tensor(1)), _ring(6).replace(y=torch.tensor(0))])
    batch_dims = dict(zip(GRAPH_FIELDS, batch.export_dynamic_dims(), strict=True))
    assert batch_dims["roots"] == {0: "graphs"} and batch_dims["ptr"] == {0: "graphs+1"}
    assert batch_dims["y"] == {0: "graphs"} and batch_dims["batch"] == {0: "nodes"}
    sampled = batch.export_sample(5, gen)
    assert sampled is not None and sampled.num_graphs == 5 and sampled.y is not None and sampled.y.shape == (5,)
    assert graph.replace(adj=torch.eye(6)).export_sample(3, gen) is None  # no sampler for a precomputed adj


FORMATS = [
    "torch_export",
    pytest.param("onnx", marks=pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime missing")),
    "torchscript",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_every_graph_model_exports_and_matches_eager_on_graphs_of_other_sizes(
    tmp_path: Path, name: str, fmt: str
) -> None:
    model, example = _build(name)
    limit = KNOWN_LIMITS.get((name, fmt))
    if limit is not None:
        with pytest.raises(ExportError, match=limit):
            export_model(model, example, tmp_path / "e", format=fmt)
        assert not (tmp_path / "e").exists()
        return
    manifest = export_model(model, example, tmp_path / "e", format=fmt).manifest
    report = manifest["verification"]
    assert report["ok"] and report["verified_on"] == "fresh" and list(report["batch_sizes"]) == [3, 5]
    assert max(o["max_abs"] for o in report["outputs"]) < 1e-4
    shapes = {i["name"]: i["shape"] for i in manifest["inputs"]}
    assert shapes["input_0.x"][0] == "nodes" and shapes["input_0.edge_index"] == [2, "edges"]
    # reloaded the standard way, on a graph the export never saw
    (entry,) = manifest["files"]
    other = example[0].export_sample(8, torch.Generator().manual_seed(7))
    assert other.num_nodes != example[0].num_nodes
    with torch.no_grad():
        torch.testing.assert_close(_reload(fmt, tmp_path / "e" / entry["name"])(other), model(other))


# Same contract as KNOWN_LIMITS. The mean readout's former limits (bincount's data-dependent length:
# "expected no unbacked symbols" on reload, "cannot translate aten.bincount" in ONNX) are gone.
POOLING_LIMITS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("fmt", FORMATS[:2])
@pytest.mark.parametrize("pooling", ["sum", "mean", "max", "attention"])
def test_every_readout_of_the_graph_classifier_exports(tmp_path: Path, pooling: str, fmt: str) -> None:
    model, example = _build("graph.graph_classifier", pooling=pooling, hidden=[8])
    limit = POOLING_LIMITS.get((pooling, fmt))
    if limit is not None:
        with pytest.raises(ExportError, match=limit):
            export_model(model, example, tmp_path / "e", format=fmt)
        return
    report = export_model(model, example, tmp_path / "e", format=fmt).manifest["verification"]
    assert report["ok"] and report["verified_on"] == "fresh"


def test_a_graph_batch_compiles_ahead_of_time(tmp_path: Path) -> None:
    model, example = _build("graph.graph_classifier", hidden=[8])
    report = export_model(model, example, tmp_path / "e", format="aoti").manifest["verification"]
    assert report["ok"] and report["verified_on"] == "fresh"


class _Probe(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + float(tracing())


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
@pytest.mark.parametrize("how", ["export", "export_strict", "jit_trace", "compile"])
def test_tracing_is_seen_by_every_way_of_recording_a_model(how: str) -> None:
    x = torch.zeros(3)
    probe = _Probe()
    assert torch.equal(probe(x), x)  # eager
    if how == "jit_trace":
        recorded: Any = torch.jit.trace(probe, (x,), check_trace=False)  # type: ignore[no-untyped-call]
    elif how == "compile":
        recorded = torch.compile(probe, backend="eager", fullgraph=True)
    else:
        recorded = torch.export.export(probe, (x,), strict=how == "export_strict").module()
    assert torch.equal(recorded(x), x + 1)


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_every_graph_model_exports_with_its_default_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """CSR in eager, the scatter path while traced: no sparse or bincount op in the program."""
    built: list[int] = []
    real = ops.SparseAdjacency.__init__

    def counting(self: ops.SparseAdjacency, *args: Any) -> None:
        built.append(1)
        real(self, *args)

    monkeypatch.setattr(ops.SparseAdjacency, "__init__", counting)
    model, (graph,) = _build(name)
    with torch.no_grad():
        eager = model(graph)
    assert bool(built) == _uses_csr(name)  # GAT has no CSR path; every other default uses it in eager
    built.clear()
    program = torch.export.export(model, (graph,), dynamic_shapes=None, strict=False)
    assert not built
    targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert not {t for t in targets if "sparse" in t or "bincount" in t}, targets
    with torch.no_grad():
        torch.testing.assert_close(program.module()(graph), eager, rtol=1e-5, atol=1e-6)


def test_an_explicit_csr_backend_is_kept_in_eager_and_auto_matches_it(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _ring(7, features=4)
    layers = {b: SAGEConv(4, 5, backend=b) for b in ("auto", "csr", "scatter")}
    for layer in layers.values():
        layer.load_state_dict(layers["auto"].state_dict())
    with torch.no_grad():
        outs = {b: m(graph.x, graph.edge_index) for b, m in layers.items()}
        monkeypatch.setattr(conv, "tracing", lambda: True)  # as under torch.export / jit.trace
        assert conv._csr_path("csr") and not conv._csr_path("auto") and not conv._csr_path("scatter")
        traced_auto = layers["auto"](graph.x, graph.edge_index)
    torch.testing.assert_close(outs["auto"], outs["csr"])
    torch.testing.assert_close(outs["scatter"], outs["csr"])
    torch.testing.assert_close(traced_auto, outs["csr"])


def _bincount_mean(src: torch.Tensor, index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """scatter_mean as it was: counts from torch.bincount(minlength=num_nodes)."""
    total = scatter_sum(src, index, num_nodes)
    count = torch.bincount(index, minlength=num_nodes).clamp_(min=1).to(src.dtype)
    return total / count.view(-1, *([1] * (src.dim() - 1)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize(
    ("n", "e", "tail"),
    # (2, 1200, ...): rows of ~600 entries, past 256 (where a count kept in bfloat16 could stall)
    [(1, 0, (3,)), (5, 3, ()), (12, 40, (4,)), (50, 400, (2, 3)), (7, 7, (1,)), (2, 1200, (2,))],
)
def test_scatter_mean_equals_the_bincount_computation_it_replaces(
    n: int, e: int, tail: tuple[int, ...], dtype: torch.dtype
) -> None:
    gen = torch.Generator().manual_seed(n * 1000 + e)
    index = torch.randint(0, n, (e,), generator=gen)
    src = torch.randn(e, *tail, generator=gen, dtype=dtype)
    got = scatter_mean(src, index, n)
    assert got.dtype == dtype and got.shape == (n, *tail)
    torch.testing.assert_close(got, _bincount_mean(src, index, n), rtol=0, atol=0)
    empty = torch.bincount(index, minlength=n) == 0  # rows nothing lands on stay 0, as before
    assert torch.equal(got[empty], torch.zeros_like(got[empty]))


# Limits that remain, outside the registered defaults (docs/deploy.md lists them too).
CONFIG_LIMITS = {
    # the LSTM aggregator pads each neighbourhood to the largest in-degree: a size read from the data
    ("graph.sage", "sage_aggr", "lstm"): "data-dependent expression",
    # an explicit "csr" is honoured while traced: its row counts are data-dependent sizes
    ("graph.gcn", "backend", "csr"): "data-dependent expression",
}


@pytest.mark.parametrize(("name", "option", "value"), list(CONFIG_LIMITS))
def test_configurations_that_still_do_not_export_are_refused_by_name(
    tmp_path: Path, name: str, option: str, value: str
) -> None:
    model, example = _build(name, **{option: value})
    with pytest.raises(ExportError, match=CONFIG_LIMITS[(name, option, value)]):
        export_model(model, example, tmp_path / "e", format="torch_export")
    assert not (tmp_path / "e").exists()


def test_forge_export_of_a_trained_karate_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_recipe("graph/karate", ["trainer.max_epochs=2"], run_dir=run_dir)  # the default backend
    result = export_run(run_dir, "torch_export")
    manifest = result.manifest
    assert manifest["lineage"]["model"] == "graph.gcn" and len(manifest["lineage"]["checkpoint"]["sha256"]) == 64
    assert manifest["verification"]["ok"] and manifest["verification"]["verified_on"] == "fresh"
    assert {i["name"]: i["shape"] for i in manifest["inputs"]}["input_0.x"] == ["nodes", 34]
    # the exported program scores the real karate graph like the trained model
    graph = registry.build("dataset", "graph.karate_club", features="identity").test[0][0]
    inputs = Graph(x=graph.x, edge_index=graph.edge_index)  # the registered example's fields: no labels or masks
    program = torch.export.load(str(result.directory / "model.pt2")).module()
    with torch.no_grad():
        torch.testing.assert_close(program(inputs), load_model(run_dir)(inputs), rtol=1e-5, atol=1e-5)
