"""How forge's GCN training step grows with the graph: nodes and edges times 1, 10 and 100.

A two-layer GCN (128 -> 256 -> 16, cached normalization, forge's default CSR path) on random
graphs with 10 edges per node; each size runs ``--warmup`` untimed steps then ``--steps`` timed
training steps (forward, backward, Adam) and reports the median. ``ms_per_edge_ratio`` compares
each size's time per edge with the smallest's: a flat ratio means linear growth.

    python benchmarks/graph_scaling.py                      # CPU: 2k/20k, 20k/200k, 200k/2M
    python benchmarks/graph_scaling.py --sizes 2000,20000   # stop earlier on a slow machine

Prints one JSON line (appended to ``$OUT/graph_scaling.jsonl`` when OUT is set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from forge.graph.nn import GCNConv


def step_ms(nodes: int, edges: int, steps: int, warmup: int, device: torch.device) -> float:
    """Median milliseconds of a GCN training step on a random graph of this size."""
    torch.manual_seed(0)
    x = torch.randn(nodes, 128, device=device)
    edge_index = torch.randint(0, nodes, (2, edges), device=device)
    y = torch.randint(0, 16, (nodes,), device=device)
    first, second = GCNConv(128, 256, cached=True).to(device), GCNConv(256, 16, cached=True).to(device)
    opt = torch.optim.Adam([*first.parameters(), *second.parameters()], lr=0.01)
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(second(F.relu(first(x, edge_index)), edge_index), y)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000,200000", help="Node counts (edges = 10 x nodes).")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    rows: list[dict[str, Any]] = []
    for nodes in (int(s) for s in args.sizes.split(",")):
        edges = 10 * nodes
        ms = step_ms(nodes, edges, args.steps, args.warmup, device)
        rows.append({"nodes": nodes, "edges": edges, "ms_per_step": round(ms, 2)})
    base = rows[0]["ms_per_step"] / rows[0]["edges"]
    for row in rows:
        row["ms_per_edge_ratio"] = round(row["ms_per_step"] / row["edges"] / base, 3)
    result = {
        "benchmark": "graph_scaling",
        "device": args.device,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": "GCN 128-256-16, cached, CSR",
        "rows": rows,
    }
    line = json.dumps(result)
    print(line, flush=True)
    out = os.environ.get("OUT")
    if out:
        with (Path(out) / "graph_scaling.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
