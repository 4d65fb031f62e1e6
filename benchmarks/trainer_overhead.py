"""Per-step overhead of forge's Trainer against a hand-written PyTorch loop (and accelerate, Lightning).

Same work in every loop: a tiny MLP (256 -> 512 -> 10), batches of 64 already on the device,
cross-entropy, SGD lr 0.01, one epoch over the same batches, same seed. Loops run interleaved,
``--repeats`` times each; the median wall time per step is reported with its ratio to the raw loop.
forge is timed twice: the whole ``fit`` call (setup included, as Lightning's is) and the step loop
alone (from ``on_train_start`` to ``on_train_end``, hooks that add nothing per step).

    python benchmarks/trainer_overhead.py                      # CUDA if available, 3000 steps
    python benchmarks/trainer_overhead.py --device cpu --steps 500

Writes JSON lines to $OUT/trainer_overhead.jsonl (default /tmp) and prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

D, H, C, B = 256, 512, 10, 64


def _sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))


def raw(batches: list[Any], dev: str) -> dict[str, float]:
    m = _model().to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    _sync(dev)
    t = time.perf_counter()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(dev)
    return {"total": time.perf_counter() - t}


def accelerate_loop(batches: list[Any], dev: str) -> dict[str, float]:
    from accelerate import Accelerator

    a = Accelerator(cpu=dev == "cpu")
    m = _model()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    m, opt = a.prepare(m, opt)
    _sync(dev)
    t = time.perf_counter()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(m(x), y)
        a.backward(loss)
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(dev)
    return {"total": time.perf_counter() - t}


class _LoopClock:
    """Times the step loop only; implements no per-step hook, so it adds nothing per step."""

    def __init__(self, dev: str) -> None:
        self.dev = dev
        self.start = self.end = 0.0

    def on_train_start(self, trainer: Any) -> None:
        _sync(self.dev)
        self.start = time.perf_counter()

    def on_train_end(self, trainer: Any) -> None:
        _sync(self.dev)
        self.end = time.perf_counter()


def forge_loop(batches: list[Any], dev: str) -> dict[str, float]:
    from forge.core.trainer._config import TrainerConfig
    from forge.core.trainer._trainer import Trainer

    clock = _LoopClock(dev)
    # Defaults, except: one epoch, no validation split to run, no progress bar.
    cfg = TrainerConfig(max_epochs=1, val_every_n_epochs=None, progress=False, log_level="warning")
    trainer = Trainer(cfg, callbacks=[clock])
    m = _model()
    _sync(dev)
    t = time.perf_counter()
    trainer.fit(
        m,
        batches,
        loss_fn=torch.nn.functional.cross_entropy,
        optimizer=lambda mod: torch.optim.SGD(mod.parameters(), lr=0.01),
    )
    _sync(dev)
    return {"total": time.perf_counter() - t, "loop": clock.end - clock.start}


def lightning_loop(batches: list[Any], dev: str) -> dict[str, float]:
    import lightning as L  # Lightning's documented import name

    class M(L.LightningModule):  # type: ignore[misc]  # Lightning is untyped here
        def __init__(self) -> None:
            super().__init__()
            self.m = _model()

        def training_step(self, b: Any, i: int) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(self.m(b[0]), b[1])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    tr = L.Trainer(
        max_epochs=1,
        accelerator="gpu" if dev == "cuda" else "cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    dl: torch.utils.data.DataLoader[Any] = torch.utils.data.DataLoader(batches, batch_size=None)  # type: ignore[arg-type]  # a list of batches is a valid map-style dataset
    _sync(dev)
    t = time.perf_counter()
    tr.fit(M(), dl)
    _sync(dev)
    return {"total": time.perf_counter() - t}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=None, help="Steps per run (default 3000 on CUDA, 500 on CPU).")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice).")
    args = p.parse_args()
    dev = args.device
    steps = args.steps or (3000 if dev == "cuda" else 500)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batches = [(torch.randn(B, D, device=dev), torch.randint(0, C, (B,), device=dev)) for _ in range(steps)]

    loops: dict[str, Callable[[list[Any], str], dict[str, float]]] = {
        "raw": raw,
        "accelerate": accelerate_loop,
        "forge": forge_loop,
    }
    try:
        import lightning  # noqa: F401  # only to know whether it is installed

        loops["lightning"] = lightning_loop
    except ImportError:
        pass
    # One untimed warm-up of each loop (allocator, kernels, imports), then interleaved repeats.
    for fn in loops.values():
        fn(batches[: min(50, steps)], dev)
    times: dict[str, list[float]] = {name: [] for name in loops}
    times["forge (step loop only)"] = []
    for _ in range(args.repeats):
        for name, fn in loops.items():
            r = fn(batches, dev)
            times[name].append(r["total"])
            if "loop" in r:
                times["forge (step loop only)"].append(r["loop"])
    raw_median = statistics.median(times["raw"])
    out_dir = os.environ.get("OUT", "/tmp")
    with open(os.path.join(out_dir, "trainer_overhead.jsonl"), "a", encoding="utf-8") as f:
        for name, xs in times.items():
            med = statistics.median(xs)
            line = json.dumps(
                {
                    "what": "trainer_overhead_tiny_mlp_data_on_device",
                    "device": dev if dev == "cpu" else torch.cuda.get_device_name(),
                    "loop": name,
                    "steps": steps,
                    "repeats": args.repeats,
                    "median_us_per_step": round(med / steps * 1e6, 1),
                    "ratio_vs_raw": round(med / raw_median, 3),
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                }
            )
            print(line)
            f.write(line + "\n")


if __name__ == "__main__":
    main()
