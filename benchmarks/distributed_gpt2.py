"""GPT-2 small on one GPU: the plain Trainer against DDP and FSDP2 launched by torchrun at world size 1.

The same recipe (``nlp/gpt2-small``: 124M parameters, 8 x 1024 tokens a step, bf16 autocast; FSDP
with its bf16 parameter policy) and the same number of steps, three ways:

* (a) ``plain``: one process, no launcher: the single-process Trainer;
* (b) ``ddp``: ``torchrun --nproc-per-node 1``, ``trainer.distributed.strategy=ddp`` (accelerate
  wraps the model in DDP when a launcher set ``LOCAL_RANK`` on a GPU; at world size 1 there is
  nothing to all-reduce, so this measures the launch and wrapper overhead);
* (c) ``fsdp``: ``torchrun --nproc-per-node 1``, ``strategy=fsdp``: FSDP2 over a world of one (one
  unit per Transformer block; all-gathers and reduce-scatters are local copies).

Tokens/s are timed between the end of step ``--warmup`` and the end of step ``--warmup + --steps``
(the device is synchronized at both ends; the warm-up steps, with cuDNN/allocator warm-up and data
workers starting, are excluded). No validation and no checkpoints inside the timed window. Each
variant runs in a fresh process. Needs only forge (core and nlp), torch and accelerate::

    python benchmarks/distributed_gpt2.py                 # on one GPU, a few minutes
    python benchmarks/distributed_gpt2.py --smoke         # tiny model on the CPU (gloo), 1-2 min: checks the script

Prints one JSON line and a markdown table, both with each variant's ratio to (a); the JSON is also
written to ``$OUT/distributed_gpt2.json`` when ``$OUT`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ("plain", "ddp", "fsdp")
SMOKE = [
    "model.d_model=32",
    "model.n_layers=2",
    "model.n_heads=2",
    "model.vocab_size=256",
    "model.max_seq_len=64",
    "data.seq_len=64",
    "data.max_files=6",
    "data.batch_size=4",
    "data.num_workers=0",
    "trainer.precision=fp32",
    "trainer.device=cpu",
    "trainer.distributed.fsdp.param_dtype=fp32",
]


class StepTimer:
    """Times the steps after ``warmup`` until ``warmup + steps`` (device synchronized at both ends)."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.start: tuple[float, int] | None = None
        self.result: dict[str, float] = {}

    def _sync(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        step = trainer.global_step
        if step == self.warmup:
            self._sync()
            self.start = (time.perf_counter(), trainer.tokens_seen)
        elif step == self.warmup + self.steps and self.start is not None:
            self._sync()
            seconds = time.perf_counter() - self.start[0]
            tokens = trainer.tokens_seen - self.start[1]
            self.result = {
                "seconds": round(seconds, 4),
                "tokens": tokens,
                "tokens_per_s": round(tokens / seconds, 1),
                "model": type(trainer.model).__name__,  # DistributedDataParallel when accelerate wrapped it
                "loss": float(loss.detach().float().item()),
            }


def worker(variant: str, out: Path, warmup: int, steps: int, smoke: bool) -> None:
    """One variant, in this process (launched by torchrun for ddp and fsdp)."""
    from forge.core._runner import run_recipe

    overrides = [
        f"trainer.max_steps={warmup + steps}",
        "trainer.max_epochs=1000",
        "trainer.val_every_n_steps=null",
        "trainer.val_every_n_epochs=null",
        "trainer.checkpoint.every_n_steps=null",
        "trainer.checkpoint.every_n_epochs=null",
        "trainer.checkpoint.save_last=false",
        "trainer.log_every_n_steps=1000000",
        "trainer.progress=false",
        f"trainer.distributed.strategy={'fsdp' if variant == 'fsdp' else 'ddp'}",
        *(SMOKE if smoke else []),
    ]
    timer = StepTimer(warmup, steps)
    with tempfile.TemporaryDirectory() as tmp:
        run_recipe("nlp/gpt2-small", overrides, run_dir=Path(tmp) / "run", callbacks=[timer])
    if int(os.environ.get("RANK", "0")) == 0:
        if not timer.result:
            raise SystemExit(f"{variant}: the timed window did not complete")
        out.write_text(json.dumps({"variant": variant, **timer.result}))


def run_variant(variant: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out = tmp / f"{variant}.json"
    own = [
        __file__,
        "--worker",
        variant,
        "--result",
        str(out),
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
    ]
    own += ["--smoke"] if args.smoke else []
    if variant == "plain":
        env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
        command = [sys.executable, *own]
    else:
        env = dict(os.environ)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1", *own]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout_s, check=False)
    if done.returncode != 0 or not out.is_file():
        raise SystemExit(f"{variant} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 30; 3 with --smoke)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed first steps (default 10; 2 with --smoke)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which of plain,ddp,fsdp to run")
    parser.add_argument("--smoke", action="store_true", help="a tiny model on the CPU, to check the script")
    parser.add_argument("--timeout-s", type=float, default=900.0, help="limit per variant")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = args.steps if args.steps is not None else (3 if args.smoke else 30)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.smoke else 10)
    if args.worker:
        worker(args.worker, args.result, args.warmup, args.steps, args.smoke)
        return 0

    import torch

    if not args.smoke and not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (or --smoke for a CPU check of the script)")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            results[variant] = run_variant(variant, args, Path(tmp))
    base = results.get("plain", {}).get("tokens_per_s")
    for result in results.values():
        result["ratio_vs_plain"] = round(result["tokens_per_s"] / base, 3) if base else None
    summary = {
        "benchmark": "distributed_gpt2",
        "smoke": args.smoke,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() and not args.smoke else "cpu",
        "torch": torch.__version__,
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "results": results,
    }
    print(json.dumps(summary))
    print("\n| variant | model | tokens/s | vs (a) plain | timed s |\n|---|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['model']} | {r['tokens_per_s']:.0f} | {r['ratio_vs_plain']} | {r['seconds']:.2f} |")
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "distributed_gpt2.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
