"""forge's layers compute what PyTorch Geometric's do, given PyG's weights (float32, 1e-5 relative)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from forge.core.errors import CheckpointError
from forge.graph.nn import GATConv, GCNConv, GINConv, SAGEConv, convert_pyg_state_dict

pyg_nn = pytest.importorskip("torch_geometric.nn", reason="torch_geometric (the test extra) is not installed")


def _graph(seed: int, n: int = 40, e: int = 160, loops: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n, (2, e), generator=g)
    if loops:  # a few existing self loops exercise the loop handling
        edge_index[:, :3] = torch.tensor([[1, 2, 3], [1, 2, 3]])
    return torch.randn(n, 8, generator=g), edge_index


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _compare(pyg: Any, forge: nn.Module, layer: Any, *args: Any) -> None:
    forge.load_state_dict(convert_pyg_state_dict(layer, pyg.state_dict()))
    pyg.eval()
    forge.eval()
    x, edge_index = args[0].clone().requires_grad_(), args[1]
    x2 = x.detach().clone().requires_grad_()
    expected, got = pyg(x, edge_index, *args[2:]), forge(x2, edge_index, *args[2:])
    _close(got, expected)
    weights = torch.randn_like(expected)
    (expected * weights).sum().backward()
    (got * weights).sum().backward()
    assert x.grad is not None and x2.grad is not None
    _close(x2.grad, x.grad)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("backend", ["csr", "scatter"])
@pytest.mark.parametrize("improved", [False, True])
def test_gcn_matches(seed: int, backend: Any, improved: bool) -> None:
    x, ei = _graph(seed)
    w = torch.rand(ei.shape[1], generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    pyg = pyg_nn.GCNConv(8, 12, improved=improved)
    pyg.bias.data.normal_()
    forge = GCNConv(8, 12, improved=improved, backend=backend, cached=True)
    if not improved:
        # PyG 2.x drops improved's loop weight 2 when no edge weights are given (its loops get 1),
        # forge keeps A + 2I; with weights both add loops of weight 2.
        _compare(pyg, forge, "GCNConv", x, ei)
    _compare(pyg, forge, "GCNConv", x, ei, w)  # a new weight tensor is not served from the cache


def test_gcn_wide_output_aggregates_first_with_same_result() -> None:
    x, ei = _graph(3)
    pyg = pyg_nn.GCNConv(8, 4)
    _compare(pyg, GCNConv(8, 4), "GCNConv", x, ei)  # in > out: transform first


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("heads", "concat"), [(1, True), (3, True), (3, False)])
def test_gat_matches(seed: int, heads: int, concat: bool) -> None:
    x, ei = _graph(seed)
    torch.manual_seed(seed)
    pyg = pyg_nn.GATConv(8, 5, heads=heads, concat=concat)
    pyg.bias.data.normal_()
    _compare(pyg, GATConv(8, 5, heads=heads, concat=concat), "GATConv", x, ei)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("aggr", ["mean", "max", "sum", "lstm"])
@pytest.mark.parametrize("normalize", [False, True])
def test_sage_matches(seed: int, aggr: Any, normalize: bool) -> None:
    x, ei = _graph(seed)
    if aggr == "lstm":  # PyG's LSTM aggregation needs edges sorted by target
        ei = ei[:, torch.sort(ei[1], stable=True).indices]
    torch.manual_seed(seed)
    pyg = pyg_nn.SAGEConv(8, 6, aggr=aggr, normalize=normalize)
    _compare(pyg, SAGEConv(8, 6, aggr=aggr, normalize=normalize), "SAGEConv", x, ei)


@pytest.mark.parametrize("backend", ["csr", "scatter"])
def test_sage_mean_backends_match(backend: Any) -> None:
    x, ei = _graph(5)
    pyg = pyg_nn.SAGEConv(8, 6)
    _compare(pyg, SAGEConv(8, 6, backend=backend), "SAGEConv", x, ei)


@pytest.mark.parametrize("train_eps", [False, True])
@pytest.mark.parametrize("backend", ["csr", "scatter"])
def test_gin_matches(train_eps: bool, backend: Any) -> None:
    x, ei = _graph(4)
    torch.manual_seed(4)
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 7))
    pyg = pyg_nn.GINConv(mlp, eps=0.3, train_eps=train_eps)
    forge = GINConv(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 7)), train_eps=train_eps, backend=backend)
    _compare(pyg, forge, "GINConv", x, ei)
    assert float(forge.eps.detach()) == pytest.approx(0.3)


def test_unknown_keys_and_layers_are_refused() -> None:
    with pytest.raises(CheckpointError, match="GCNConv key 'lin_x.weight'"):
        convert_pyg_state_dict("GCNConv", {"lin_x.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="unsupported layer"):
        convert_pyg_state_dict("ChebConv", {})  # type: ignore[arg-type]  # the point: a name outside the literal
    with pytest.raises(CheckpointError, match="no GATConv keys under prefix 'convs.1.'"):
        convert_pyg_state_dict("GATConv", {"convs.0.bias": torch.zeros(1)}, prefix="convs.1.")
