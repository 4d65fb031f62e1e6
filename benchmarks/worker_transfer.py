"""Worker-to-main batch transfer: torch's shared memory against forge's InlineCollate, by batch size.

A trivial iterable dataset yields the same int64 tensor over and over, so the time is all collation
and transfer. Both loaders use 2 persistent workers and batch 64; the only difference is the
collate function: torch's ``default_collate`` (each batch tensor in a new shared-memory segment
whose descriptor is passed to the main process) or ``InlineCollate(max_bytes=huge)`` (the batch's
bytes through the worker's pipe). The crossover sets ``LoaderConfig.inline_batch_bytes``.

    python benchmarks/worker_transfer.py            # about a minute on 2 CPU cores

Writes JSON lines to $OUT/worker_transfer.jsonl (default /tmp) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from forge.core.data._transfer import InlineCollate

BATCH = 64


class Repeat(IterableDataset[tuple[torch.Tensor, int]]):
    """``count`` samples of one int64 tensor of ``width`` elements, split across workers."""

    def __init__(self, count: int, width: int) -> None:
        self.count, self.width = count, width

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        sample = torch.zeros(self.width, dtype=torch.long)
        for i in range(worker, self.count, workers):
            yield sample, i % 4


def rate(width: int, count: int, collate: Callable[[list[Any]], Any] | None) -> float:
    dataset = Repeat(count, width)
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=2, persistent_workers=True, collate_fn=collate)
    for _ in loader:  # start the workers
        pass
    start = time.perf_counter()
    seen = sum(int(batch[0].shape[0]) for batch in loader)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 256, 1024, 2048, 4096, 8192])
    args = parser.parse_args()
    out = Path(os.environ.get("OUT", "/tmp"))
    out.mkdir(parents=True, exist_ok=True)
    inline = InlineCollate(max_bytes=1 << 40)
    rows = []
    for width in args.widths:
        batch_kib = BATCH * width * 8 / 1024
        count = max(2048, int(16384 * 256 / max(width, 256)))  # about the same bytes per run
        runs = [(rate(width, count, None), rate(width, count, inline)) for _ in range(args.repeats)]
        ratios = [b / a for a, b in runs]
        rows.append(
            {
                "benchmark": "worker_transfer",
                "batch_kib": batch_kib,
                "shared_memory_samples_per_s": round(statistics.median(a for a, _ in runs)),
                "pipe_samples_per_s": round(statistics.median(b for _, b in runs)),
                "pipe_over_shared": round(statistics.median(ratios), 2),
                "ratio_min": round(min(ratios), 2),
                "ratio_max": round(max(ratios), 2),
                "cpus": os.cpu_count(),
                "torch": torch.__version__,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    with (out / "worker_transfer.jsonl").open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    print("\n| batch (KiB) | shared memory (samples/s) | pipe (samples/s) | pipe / shared (range) |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['batch_kib']:.0f} | {row['shared_memory_samples_per_s']:,} | {row['pipe_samples_per_s']:,} |"
            f" {row['pipe_over_shared']:.2f} ({row['ratio_min']:.2f}-{row['ratio_max']:.2f}) |"
        )


if __name__ == "__main__":
    main()
