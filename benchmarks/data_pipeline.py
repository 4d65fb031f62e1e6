"""Input pipeline throughput: forge's loader against a plain DataLoader, and the preprocessing cache.

Three measurements, side by side in one run, same data and same work per sample:

1. ``image``: a map-style dataset of synthetic 3x32x32 uint8 images with augmentation (decode to
   float, normalize, pad-4 random crop, horizontal flip). Plain: ``DataLoader(ds, batch_size=64,
   shuffle=True, num_workers=2)`` as a typical user writes it. forge: ``build_loader(ds,
   LoaderConfig(batch_size=64), seed=0)`` with its defaults (workers = min(4, CPUs), persistent
   workers, prefetch 2, seeded resumable sampler, batches up to 512 KiB through the workers' pipes).
2. ``jsonl``: streaming text classification from JSON Lines shards, bytes tokenized to 64 ids.
   Plain: an ``IterableDataset`` splitting lines across workers by ``line % num_workers`` (what a
   user writes to avoid duplicates), ``num_workers=2``, no shuffling. forge: ``JsonlStream`` with its
   default loader, twice: in file order (the same work as the plain loader) and with per-epoch shard
   shuffling plus a 1024-sample shuffle buffer (more work than the plain loader does).
3. ``cache``: a preprocessing-dominated pipeline (repeated blurring of a 3x64x64 image) wrapped in
   ``CachedDataset`` with a ``DiskCache``; epoch 1 fills the cache, epoch 2 reads it. Reported as
   the epoch-1 / epoch-2 time ratio (the target is >= 3x).

Each loader runs ``--epochs`` epochs; samples/s covers all of them (worker start-up included, which
is where persistent workers pay off). Runs are interleaved ``--repeats`` times; each repeat gives a
paired forge/plain ratio, and the median ratio is reported with the range over the repeats.
``--inline-batch-bytes 0`` sends forge's batches through torch's shared memory, as the plain
loader does, to show what the other defaults give on their own. ``--forge-workers`` pins forge's
worker count (default: forge's own choice, min(4, CPUs)), so that on a machine with more cores
forge can also be compared at the plain loader's 2 workers.

    python benchmarks/data_pipeline.py                  # about a minute on 2 CPU cores
    python benchmarks/data_pipeline.py --scale 4        # bigger datasets

Writes JSON lines to $OUT/data_pipeline.jsonl (default /tmp), prints them and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from forge.core.data._cache import CachedDataset, DiskCache
from forge.core.data._compose import Compose, Transform
from forge.core.data._configs import (
    LoaderConfig,
    NormalizeConfig,
    RandomCropConfig,
    RandomHorizontalFlipConfig,
)
from forge.core.data._loader import build_loader, resolve_settings
from forge.core.data._streaming import JsonlStream, write_jsonl_shards
from forge.core.data._tensor_transforms import Normalize, RandomCrop, RandomHorizontalFlip

BATCH = 64
SEQ = 64


class Images(Dataset[tuple[torch.Tensor, int]]):
    """Synthetic uint8 images generated from the index (stands in for decoded files)."""

    def __init__(self, size: int, transform: Callable[[Any], Any]) -> None:
        self.size = size
        self.transform = transform

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        generator = torch.Generator().manual_seed(index)
        image = torch.randint(0, 256, (3, 32, 32), generator=generator, dtype=torch.uint8)
        sample: tuple[torch.Tensor, int] = self.transform((image.float() / 255.0, index % 10))
        return sample


def augment() -> Compose:
    return Compose(
        [
            Normalize(NormalizeConfig(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])),
            RandomCrop(RandomCropConfig(size=[32, 32], padding=4)),
            RandomHorizontalFlip(RandomHorizontalFlipConfig(p=0.5)),
        ]
    )


def tokenize(sample: tuple[str, int]) -> tuple[torch.Tensor, int]:
    text, label = sample
    ids = torch.zeros(SEQ, dtype=torch.long)
    data = torch.frombuffer(bytearray(text.encode("utf-8")[:SEQ]), dtype=torch.uint8).long()
    ids[: len(data)] = data
    return ids, label


class PlainJsonl(IterableDataset[tuple[torch.Tensor, int]]):
    """What a user typically writes: lines split across workers by index modulo workers."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        line_no = 0
        for path in self.files:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line_no % workers == worker:
                        record = json.loads(line)
                        yield tokenize((record["text"], record["label"]))
                    line_no += 1


@attrs.frozen
class BlurConfig:
    """Blur passes of the heavy preprocessing."""

    passes: int = 12


class HeavyPreprocess(Transform):
    """A deterministic, expensive preprocessing step (repeated 5x5 blur of a 3x64x64 image)."""

    name: ClassVar[str] = "data_pipeline:HeavyPreprocess"

    def __init__(self, config: BlurConfig) -> None:
        self.config = config
        self.kernel = torch.full((3, 1, 5, 5), 1.0 / 25.0)

    def __call__(self, sample: Any) -> Any:
        image, label = sample
        x = image.unsqueeze(0)
        for _ in range(self.config.passes):
            x = torch.nn.functional.conv2d(x, self.kernel, padding=2, groups=3)
        return x.squeeze(0), label


class RawImages(Dataset[tuple[torch.Tensor, int]]):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        generator = torch.Generator().manual_seed(index)
        return torch.rand(3, 64, 64, generator=generator), index % 10


def run_epochs(loader: Any, epochs: int) -> tuple[float, int]:
    start = time.perf_counter()
    count = 0
    for epoch in range(epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        for batch in loader:
            count += int(batch[0].shape[0])
    return time.perf_counter() - start, count


def bench_image(size: int, epochs: int, config: LoaderConfig) -> dict[str, float]:
    dataset = Images(size, augment())
    plain = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=2)
    plain_t, plain_n = run_epochs(plain, epochs)
    forge = build_loader(dataset, config, seed=0)
    forge_t, forge_n = run_epochs(forge, epochs)
    del forge
    return {"plain": plain_n / plain_t, "forge": forge_n / forge_t}


def bench_jsonl(files: list[Path], epochs: int, config: LoaderConfig) -> dict[str, float]:
    plain = DataLoader(PlainJsonl(files), batch_size=BATCH, num_workers=2)
    plain_t, plain_n = run_epochs(plain, epochs)
    in_order = JsonlStream(files, keys=("text", "label"), transform=tokenize)
    unshuffled_t, unshuffled_n = run_epochs(build_loader(in_order, config, seed=0), epochs)
    stream = JsonlStream(files, keys=("text", "label"), shuffle_files=True, shuffle_buffer=1024, transform=tokenize)
    forge = build_loader(stream, config, seed=0)
    forge_t, forge_n = run_epochs(forge, epochs)
    return {"plain": plain_n / plain_t, "forge": forge_n / forge_t, "forge_unshuffled": unshuffled_n / unshuffled_t}


def bench_cache(size: int, root: Path) -> dict[str, float]:
    store = DiskCache(root)
    store.invalidate()
    cached = CachedDataset(RawImages(size), HeavyPreprocess(BlurConfig()), fingerprint=f"raw-{size}", store=store)
    loader = build_loader(cached, LoaderConfig(batch_size=BATCH), seed=0)
    first, n = run_epochs(loader, 1)
    loader.set_epoch(1)
    second, _ = run_epochs(loader, 1)
    return {"epoch1_s": first, "epoch2_s": second, "speedup": first / second, "samples": float(n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply dataset sizes.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--forge-workers", type=int, default=None, help="Pin forge's num_workers.")
    parser.add_argument(
        "--inline-batch-bytes", type=int, default=None, help="Override forge's loader.inline_batch_bytes (0: off)."
    )
    args = parser.parse_args()
    config = LoaderConfig(batch_size=BATCH, num_workers=args.forge_workers)
    if args.inline_batch_bytes is not None:
        config = attrs.evolve(config, inline_batch_bytes=args.inline_batch_bytes)
    out_dir = Path(os.environ.get("OUT", "/tmp"))
    out_dir.mkdir(parents=True, exist_ok=True)
    n_images, n_lines, n_cache = int(2048 * args.scale), int(16384 * args.scale), int(512 * args.scale)
    words = "the quick brown fox jumps over a lazy dog while data flows through forge".split()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = write_jsonl_shards(
            (
                {"text": " ".join(words[(i * 7 + j) % len(words)] for j in range(8 + i % 9)), "label": i % 4}
                for i in range(n_lines)
            ),
            Path(tmp) / "jsonl",
            shard_size=max(1, n_lines // 8),
        )
        image_runs = []
        jsonl_runs = []
        cache_runs = []
        for _ in range(args.repeats):
            image_runs.append(bench_image(n_images, args.epochs, config))
            jsonl_runs.append(bench_jsonl(files, args.epochs, config))
            cache_runs.append(bench_cache(n_cache, Path(tmp) / "cache"))
    jsonl_plain_order = [{"plain": r["plain"], "forge": r["forge_unshuffled"]} for r in jsonl_runs]
    cases = (
        ("image_map_augmented", image_runs),
        ("jsonl_streaming_text_unshuffled", jsonl_plain_order),
        ("jsonl_streaming_text_shuffle_buffer", jsonl_runs),
    )
    for name, runs in cases:
        ratios = [r["forge"] / r["plain"] for r in runs]
        results.append(
            {
                "benchmark": "data_pipeline",
                "case": name,
                "plain_samples_per_s": round(statistics.median(r["plain"] for r in runs), 1),
                "forge_samples_per_s": round(statistics.median(r["forge"] for r in runs), 1),
                "forge_over_plain": round(statistics.median(ratios), 3),
                "ratio_min": round(min(ratios), 3),
                "ratio_max": round(max(ratios), 3),
                "repeats": len(runs),
                "epochs": args.epochs,
                "batch_size": BATCH,
                "forge_workers": resolve_settings(config, iterable=False)["num_workers"],
                "cpus": os.cpu_count(),
            }
        )
    speedup = statistics.median(r["speedup"] for r in cache_runs)
    results.append(
        {
            "benchmark": "data_pipeline",
            "case": "disk_cache_second_epoch",
            "epoch1_s": round(statistics.median(r["epoch1_s"] for r in cache_runs), 3),
            "epoch2_s": round(statistics.median(r["epoch2_s"] for r in cache_runs), 3),
            "speedup": round(speedup, 2),
            "samples": int(cache_runs[0]["samples"]),
            "target_speedup": 3.0,
        }
    )
    with (out_dir / "data_pipeline.jsonl").open("a", encoding="utf-8") as handle:
        for row in results:
            line = json.dumps(row)
            handle.write(line + "\n")
            print(line)
    print()
    print("| case | plain DataLoader (samples/s) | forge build_loader (samples/s) | forge / plain (range) |")
    print("|---|---|---|---|")
    for row in results[:3]:
        print(
            f"| {row['case']} | {row['plain_samples_per_s']:.0f} | {row['forge_samples_per_s']:.0f} |"
            f" {row['forge_over_plain']:.2f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f}) |"
        )
    cache = results[3]
    print()
    print("| cache | epoch 1 (fill) s | epoch 2 (cached) s | speedup |")
    print("|---|---|---|---|")
    print(
        f"| disk, {cache['samples']} samples | {cache['epoch1_s']:.3f} | {cache['epoch2_s']:.3f} |"
        f" {cache['speedup']:.1f}x |"
    )


if __name__ == "__main__":
    main()
