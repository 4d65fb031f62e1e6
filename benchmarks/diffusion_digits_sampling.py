"""CPU sampling throughput and quality of a ``diffusion/digits`` run: DDPM-1000 against DDIM-50.

Quality is the accuracy of a logistic-regression digits classifier (trained on the real training
split, :class:`forge.diffusion.metrics.digits_judge.DigitsJudge`) on samples generated for a
requested class, and the share of classes it recognizes at all (coverage). Every loop is timed in
full. Prints one JSON line.

    forge train diffusion/digits --run-dir runs/digits
    python benchmarks/diffusion_digits_sampling.py runs/digits --num 50 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from forge.diffusion.metrics.digits_judge import DigitsJudge
from forge.diffusion.sampling.generate import generate
from forge.diffusion.sampling.run import load_diffusion_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=50, help="Images per loop (classes in turn).")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--guidance", type=float, nargs="+", default=[1.0], help="Guidance scales to measure.")
    parser.add_argument("--loops", nargs="+", default=["ddpm:1000", "ddim:50"], help="sampler:steps pairs.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, used_ema = load_diffusion_run(args.run_dir)
    judge = DigitsJudge()
    labels = torch.arange(args.num) % 10
    out: dict[str, Any] = {
        "benchmark": "diffusion_digits_sampling",
        "device": "cpu",
        "threads": args.threads,
        "num": args.num,
        "ema": used_ema,
        "judge_real_test_accuracy": round(judge.real_accuracy, 4),
        "params_m": round(sum(p.numel() for p in model.denoiser.parameters()) / 1e6, 3),
        "results": {},
    }
    for guidance in args.guidance:
        for loop in args.loops:
            sampler, steps = loop.split(":")
            t0 = time.perf_counter()
            images = generate(
                model,
                args.num,
                sampler=sampler,
                steps=int(steps),
                cond=labels,
                guidance=guidance,
                generator=torch.Generator().manual_seed(0),
            )
            seconds = time.perf_counter() - t0
            score = judge.score(images, labels)
            out["results"][f"{sampler}{steps}_g{guidance:g}"] = {
                "seconds": round(seconds, 2),
                "images_per_s": round(args.num / seconds, 3),
                "accuracy": round(score.accuracy, 4),
                "coverage": score.coverage,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
