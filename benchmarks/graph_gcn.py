"""forge-graph against PyTorch Geometric: one training step of two-layer GCN, GAT and GraphSAGE.

Same random graph (default 200,000 nodes, 2,000,000 directed edges), same weights (PyG's copied
into forge through ``forge.graph.nn.convert_pyg_state_dict``), same Adam step; forward, backward
and optimizer step timed with CUDA events after a warm-up, in alternating blocks (forge, PyG,
forge, PyG, ...) so that clock or thermal drift hits both. Reports the median ms/step of each and
the ratio forge / PyG (below 1: forge is faster), plus the largest output difference of the
forward pass (a check that both compute the same thing).

Models (the issue's GCN is 128 -> 256 -> 16):
    gcn:  GCNConv(128, 256, cached=True) -> ReLU -> GCNConv(256, 16, cached=True)
    gat:  GATConv(128, 64, heads=4) -> ELU -> GATConv(256, 16, heads=1)
    sage: SAGEConv(128, 256, mean) -> ReLU -> SAGEConv(256, 16, mean)
forge's GCN and SAGE also run with ``backend="scatter"`` (per-edge index_add_) to record which
sparse path is faster on the device (forge's default, "auto", uses CSR for these layers).

Needs torch with CUDA, torch_geometric, and forge-core + forge-graph from this repository:

    pip install --no-deps -e packages/core -e packages/graph
    python benchmarks/graph_gcn.py                  # on an H200: well under 3 minutes

Prints one JSON line (and appends it to ``$OUT/graph_gcn.jsonl`` when OUT is set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.graph.nn import GATConv, GCNConv, SAGEConv, convert_pyg_state_dict


class TwoLayer(nn.Module):
    """Two graph layers with an activation between them (forge or PyG layers alike)."""

    def __init__(self, first: nn.Module, second: nn.Module, act: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.first, self.second, self.act = first, second, act

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.second(self.act(self.first(x, edge_index)), edge_index)


def _layers(kind: str, lib: str, backend: str = "auto") -> tuple[nn.Module, nn.Module, Callable[[Tensor], Tensor]]:
    if lib == "pyg":
        import torch_geometric.nn as pyg

        if kind == "gcn":
            return pyg.GCNConv(128, 256, cached=True), pyg.GCNConv(256, 16, cached=True), F.relu
        if kind == "gat":
            return pyg.GATConv(128, 64, heads=4), pyg.GATConv(256, 16, heads=1), F.elu
        return pyg.SAGEConv(128, 256), pyg.SAGEConv(256, 16), F.relu
    if kind == "gcn":
        return (
            GCNConv(128, 256, cached=True, backend=backend),  # type: ignore[arg-type]
            GCNConv(256, 16, cached=True, backend=backend),  # type: ignore[arg-type]
            F.relu,
        )
    if kind == "gat":
        return GATConv(128, 64, heads=4), GATConv(256, 16, heads=1), F.elu
    return SAGEConv(128, 256, backend=backend), SAGEConv(256, 16, backend=backend), F.relu  # type: ignore[arg-type]


_PYG_NAME = {"gcn": "GCNConv", "gat": "GATConv", "sage": "SAGEConv"}


def build_pair(kind: str, device: torch.device, backend: str = "auto") -> tuple[nn.Module, nn.Module]:
    """A PyG model and a forge model holding the same weights."""
    pyg = TwoLayer(*_layers(kind, "pyg")).to(device)
    forge = TwoLayer(*_layers(kind, "forge", backend)).to(device)
    state = pyg.state_dict()
    converted: dict[str, Tensor] = {}
    for prefix in ("first.", "second."):
        layer = convert_pyg_state_dict(_PYG_NAME[kind], state, prefix=prefix)  # type: ignore[arg-type]
        converted.update({prefix + k: v for k, v in layer.items()})
    forge.load_state_dict(converted)
    return pyg, forge


def time_steps(
    model: nn.Module, x: Tensor, edge_index: Tensor, y: Tensor, steps: int, device: torch.device
) -> list[float]:
    """Milliseconds of each of ``steps`` training steps (forward, backward, Adam)."""
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        else:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x, edge_index), y)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--edges", type=int, default=2_000_000)
    parser.add_argument("--steps", type=int, default=20, help="Timed steps per block.")
    parser.add_argument("--blocks", type=int, default=3, help="Alternating forge/PyG blocks per model.")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", default="gcn,gat,sage")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(args.nodes, 128, device=device)
    edge_index = torch.randint(0, args.nodes, (2, args.edges), device=device)
    y = torch.randint(0, 16, (args.nodes,), device=device)
    result: dict[str, Any] = {
        "benchmark": "graph_gcn",
        "nodes": args.nodes,
        "edges": args.edges,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "steps_per_block": args.steps,
        "blocks": args.blocks,
    }
    try:
        import torch_geometric

        result["torch_geometric"] = torch_geometric.__version__
    except ImportError:
        result["torch_geometric"] = None
    started = time.perf_counter()
    for kind in args.models.split(","):
        variants = ["auto", "scatter"] if kind in ("gcn", "sage") else ["auto"]
        for backend in variants:
            pyg, forge = build_pair(kind, device, backend)
            with torch.no_grad():
                a, b = pyg(x, edge_index), forge(x, edge_index)
                diff = float((a - b).abs().max() / a.abs().max().clamp_min(1e-12))
            for model in (pyg, forge):
                time_steps(model, x, edge_index, y, args.warmup, device)
            forge_ms: list[float] = []
            pyg_ms: list[float] = []
            for _ in range(args.blocks):
                forge_ms += time_steps(forge, x, edge_index, y, args.steps, device)
                pyg_ms += time_steps(pyg, x, edge_index, y, args.steps, device)
            key = kind if backend == "auto" else f"{kind}_{backend}"
            f_med, p_med = statistics.median(forge_ms), statistics.median(pyg_ms)
            result[key] = {
                "forge_ms": round(f_med, 3),
                "pyg_ms": round(p_med, 3),
                "ratio_forge_over_pyg": round(f_med / p_med, 3),
                "max_rel_output_diff": diff,
            }
            if device.type == "cuda":
                result[key]["peak_mem_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
                torch.cuda.reset_peak_memory_stats(device)
            del pyg, forge
            if device.type == "cuda":
                torch.cuda.empty_cache()
    result["goal_gcn_ratio_at_most"] = 1.0
    result["issue_peer_pyg_gcn_ms"] = 16.6
    result["wall_s"] = round(time.perf_counter() - started, 1)
    line = json.dumps(result)
    print(line, flush=True)
    out = os.environ.get("OUT")
    if out:
        with (Path(out) / "graph_gcn.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
