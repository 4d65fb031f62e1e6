"""Sampling throughput of a 64x64 diffusion UNet on one GPU: eager vs torch.compile, DDIM-50 and DDPM-1000.

The model is forge-diffusion's ``diffusion.unet`` at the size of the DDPM CIFAR/CelebA-64 models
(base width 128, channel multipliers 1-2-2-2, two residual blocks a level, attention at 16x16,
~36 M parameters), randomly initialized: throughput does not depend on the weights. Every loop is
timed in full (1000 real DDPM steps, 50 DDIM steps), after one untimed warm-up loop that also
compiles; the denoiser runs under bf16 autocast, the sampler's arithmetic in fp32.

Variants: ``eager`` and ``compiled`` (``torch.compile(mode="reduce-overhead")``: Inductor kernels
replayed as CUDA graphs). Prints one JSON line (and appends it to ``$OUT/diffusion_unet.jsonl``
when ``OUT`` is set). A loop that would run past ``--budget`` seconds of the whole script is
skipped and listed under ``"skipped"`` rather than extrapolated.

    pip install --no-deps -e packages/core -e packages/diffusion
    python benchmarks/diffusion_unet.py            # about 2 minutes on one H200
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from forge.diffusion.models.configs import DiffusionConfig, UNetConfig
from forge.diffusion.models.diffusion import DiffusionModel
from forge.diffusion.models.unet import UNet
from forge.diffusion.sampling.generate import generate, make_sampler

START = time.perf_counter()


def build(device: torch.device) -> DiffusionModel:
    """The 64x64 UNet diffusion model, in eval mode on ``device``."""
    cfg = UNetConfig(
        in_channels=3,
        image_size=64,
        base_channels=128,
        channel_mults=(1, 2, 2, 2),
        num_res_blocks=2,
        attention_resolutions=(16,),
        num_heads=4,
        norm_groups=32,
    )
    torch.manual_seed(0)
    return DiffusionModel(UNet(cfg), DiffusionConfig(), (3, 64, 64)).to(device).eval()


def denoiser(model: DiffusionModel, compiled: bool) -> Callable[[Tensor, Tensor, Tensor | None], Tensor]:
    """``model.denoise`` under bf16 autocast, optionally compiled with CUDA graphs."""
    net: Any = torch.compile(model.denoiser, mode="reduce-overhead") if compiled else model.denoiser

    def run(x: Tensor, t: Tensor, cond: Tensor | None) -> Tensor:
        if compiled:
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out: Tensor = net(x, t, cond)
        return out.float()

    return run


def time_loop(model: DiffusionModel, fn: Callable[..., Tensor], sampler: str, steps: int | None, batch: int) -> float:
    """Seconds of one full sampling loop of ``batch`` images."""
    s = make_sampler(model, sampler, steps)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = generate(model, batch, sampler=s, denoise=fn, generator=torch.Generator(device="cuda").manual_seed(0))
    torch.cuda.synchronize()
    assert torch.isfinite(out).all()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32, help="Images per loop (same for every loop: one compile).")
    parser.add_argument("--budget", type=float, default=170.0, help="Seconds the whole script may take.")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("diffusion_unet.py needs a CUDA GPU")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda")
    model = build(device)
    result: dict[str, Any] = {
        "benchmark": "diffusion_unet",
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "image_size": 64,
        "batch": args.batch,
        "precision": "bf16-autocast",
        "results": {},
        "skipped": [],
    }
    loops = (("ddim", 50), ("ddpm", None))
    for variant in ("eager", "compiled"):
        fn = denoiser(model, variant == "compiled")
        t0 = time.perf_counter()
        warm = time_loop(model, fn, "ddim", 50, args.batch)  # warm-up; compiles and records the graphs
        result["results"][f"{variant}_warmup_s"] = round(time.perf_counter() - t0, 2)
        per_step: float | None = None  # measured on this variant's DDIM loop, to budget its DDPM loop
        for sampler, steps in loops:
            n = steps or model.schedule.num_timesteps
            if per_step is not None and time.perf_counter() - START + 1.2 * n * per_step > args.budget:
                result["skipped"].append(f"{variant}_{sampler}{n}")
                continue
            seconds = time_loop(model, fn, sampler, steps, args.batch)
            per_step = seconds / n
            result["results"][f"{variant}_{sampler}{n}"] = {
                "seconds": round(seconds, 3),
                "images_per_s": round(args.batch / seconds, 2),
                "ms_per_step": round(1000 * seconds / n, 3),
            }
        del warm
    r = result["results"]
    for loop in ("ddim50", "ddpm1000"):
        if f"eager_{loop}" in r and f"compiled_{loop}" in r:
            r[f"speedup_compiled_{loop}"] = round(r[f"eager_{loop}"]["seconds"] / r[f"compiled_{loop}"]["seconds"], 2)
    result["total_s"] = round(time.perf_counter() - START, 1)
    line = json.dumps(result)
    print(line)
    if os.environ.get("OUT"):
        with Path(os.environ["OUT"], "diffusion_unet.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
