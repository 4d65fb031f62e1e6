"""forge vs torchvision CNN throughput on one GPU, side by side and interleaved in one run.

Settings are the peer anchors' (notes/gpu_anchors.py, gpu_anchors2.py): batch 256 of 224x224,
bf16 autocast, channels_last, SGD(lr=0.1, momentum=0.9, fused=True), TF32 on, timing by CUDA
events over a plain loop. Cells:

- ResNet-50 training and inference images/s, eager and ``torch.compile`` (default mode);
- EfficientNet-B0 and MobileNetV3-Large, eager, training and inference;
- forge "defaults": ResNet-50 compiled with ``mode="reduce-overhead"`` (CUDA graphs), training
  and inference, run last and only while the time budget allows (compiles take most of it).

Each cell builds both models, warms both up (compiling when asked), then times them alternately
for ``--reps`` rounds and reports the medians and ``ratio = forge / torchvision``. One JSON line per
cell (also appended to ``$OUT/vision_throughput.jsonl``). Run::

    PYTHONPATH=packages/core/src:packages/vision/src python benchmarks/vision_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

# Figures the peer script measured on the H200 (torchvision ResNet-50, img/s), for context only;
# the ratio that matters is against torchvision measured in the same run.
PEER_ANCHORS = {"train_eager": 4727, "train_compiled": 6675, "infer_eager": 15465, "infer_compiled": 22983}
BATCH = 256


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--reps", type=int, default=3, help="alternating measurement rounds per cell")
    parser.add_argument(
        "--budget-s", type=float, default=330.0, help="skip remaining compiled cells past this many seconds"
    )
    parser.add_argument("--no-compile", action="store_true", help="eager cells only")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    import torchvision
    from torch import nn

    from forge.vision.models.configs import EfficientNetConfig, MobileNetConfig, ResNetConfig
    from forge.vision.models.efficientnet import build_efficientnet
    from forge.vision.models.mobilenet import build_mobilenet
    from forge.vision.models.resnet import build_resnet

    if not torch.cuda.is_available():
        print("vision_throughput: needs a CUDA GPU", file=sys.stderr)
        return 2
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    start = time.time()
    out = open(os.path.join(os.environ.get("OUT", "/tmp"), "vision_throughput.jsonl"), "a", encoding="utf-8")

    def emit(**kw: Any) -> None:
        line = json.dumps(kw)
        print(line, flush=True)
        out.write(line + "\n")
        out.flush()

    def timed(step: Callable[[], None], n: int) -> float:
        torch.cuda.synchronize()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]  # unannotated in torch
        s.record()
        for _ in range(n):
            step()
        e.record()
        torch.cuda.synchronize()
        return float(s.elapsed_time(e)) / 1000 / n

    x = torch.randn(BATCH, 3, 224, 224, device=dev).to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (BATCH,), device=dev)

    def make_step(model: nn.Module, train: bool, compile_mode: str | None) -> Callable[[], None]:
        model = model.to(dev, memory_format=torch.channels_last).train(train)  # type: ignore[call-overload]  # stubs omit memory_format
        f = (
            model
            if compile_mode is None
            else torch.compile(model, mode=None if compile_mode == "default" else compile_mode)
        )
        graphs = compile_mode == "reduce-overhead"
        if train:
            opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, fused=True)

            def train_step() -> None:
                if graphs:
                    torch.compiler.cudagraph_mark_step_begin()  # type: ignore[no-untyped-call]  # unannotated in torch
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = F.cross_entropy(f(x), y)
                loss.backward()  # type: ignore[no-untyped-call]  # unannotated in torch
                opt.step()
                opt.zero_grad(set_to_none=True)

            return train_step

        @torch.no_grad()
        def infer_step() -> None:
            if graphs:
                torch.compiler.cudagraph_mark_step_begin()  # type: ignore[no-untyped-call]  # unannotated in torch
            with torch.autocast("cuda", dtype=torch.bfloat16):
                f(x)

        return infer_step

    def cell(
        name: str, makers: dict[str, Callable[[], nn.Module]], train: bool, compile_modes: dict[str, str | None]
    ) -> None:
        t0 = time.time()
        steps: dict[str, Callable[[], None]] = {}
        setup: dict[str, float] = {}
        try:
            for who, make in makers.items():
                ts = time.time()
                torch.manual_seed(0)
                step = make_step(make(), train, compile_modes[who])
                for _ in range(5 if compile_modes[who] else 3):
                    step()
                torch.cuda.synchronize()
                steps[who], setup[who] = step, round(time.time() - ts, 1)
            times: dict[str, list[float]] = {who: [] for who in steps}
            order = list(steps)
            for rep in range(args.reps):
                for who in order if rep % 2 == 0 else order[::-1]:
                    times[who].append(timed(steps[who], args.steps))
            img_s = {who: round(BATCH / statistics.median(t)) for who, t in times.items()}
            row: dict[str, Any] = {
                "what": "vision_throughput",
                "cell": name,
                "batch": BATCH,
                "img_s": img_s,
                "setup_s": setup,
            }
            if "forge" in img_s and "torchvision" in img_s:
                row["ratio_forge_vs_torchvision"] = round(img_s["forge"] / img_s["torchvision"], 3)
            emit(**row, modes=compile_modes, s=round(time.time() - t0, 1))
        except Exception as exc:  # report the cell, keep going with the rest
            emit(what="vision_throughput", cell=name, error=repr(exc)[:500])
        finally:
            steps.clear()
            torch.cuda.empty_cache()

    emit(
        what="env",
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        gpu=torch.cuda.get_device_name(),
        py=sys.version.split()[0],
        peer_anchors_resnet50=PEER_ANCHORS,
    )
    families: dict[str, dict[str, Callable[[], nn.Module]]] = {
        "resnet50": {"torchvision": torchvision.models.resnet50, "forge": lambda: build_resnet(ResNetConfig(depth=50))},
        "efficientnet_b0": {
            "torchvision": torchvision.models.efficientnet_b0,
            "forge": lambda: build_efficientnet(EfficientNetConfig(variant="b0")),
        },
        "mobilenet_v3_large": {
            "torchvision": torchvision.models.mobilenet_v3_large,
            "forge": lambda: build_mobilenet(MobileNetConfig(variant="v3_large")),
        },
    }
    eager = {"torchvision": None, "forge": None}
    compiled: dict[str, str | None] = {"torchvision": "default", "forge": "default"}
    for family, makers in families.items():
        for train in (True, False):
            cell(f"{family}_{'train' if train else 'infer'}_eager", makers, train, dict(eager))
    if not args.no_compile:
        resnet = families["resnet50"]
        for train in (True, False):
            if time.time() - start > args.budget_s:
                emit(
                    what="vision_throughput",
                    cell=f"resnet50_{'train' if train else 'infer'}_compiled",
                    skipped="time budget",
                )
                continue
            cell(f"resnet50_{'train' if train else 'infer'}_compiled", resnet, train, dict(compiled))
        # forge's defaults: CUDA graphs through reduce-overhead, against torchvision's best plain
        # compiled loop above; measured alone, so the ratio is left to the reader of both lines.
        for train in (True, False):
            name = f"resnet50_{'train' if train else 'infer'}_forge_defaults"
            if time.time() - start > args.budget_s:
                emit(what="vision_throughput", cell=name, skipped="time budget")
                continue
            cell(name, {"forge": resnet["forge"]}, train, {"forge": "reduce-overhead"})
    emit(what="vision_throughput_done", total_s=round(time.time() - start, 1))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
