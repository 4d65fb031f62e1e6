"""Check forge's CNNs against torchvision and timm: same weights in, same logits out.

For every family and size, build the torchvision model and the timm model with random weights
(batch-norm statistics randomized too, so a wrong key map cannot hide behind 0/1 statistics),
load their state dicts into forge's model through :mod:`forge.vision.models.interop`, and compare
float32 eval-mode outputs on a random batch (TF32 off). The error is
``max|forge - ref| / max|ref|`` and must be <= 1e-5.

Needs torchvision and timm (the H200 machine has both); nothing is downloaded. Run::

    PYTHONPATH=packages/core/src:packages/vision/src python benchmarks/vision_reference_check.py

Prints one JSON line per model (also appended to ``$OUT/vision_reference_check.jsonl``) and exits
1 when any model fails or errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

TOLERANCE = 1e-5


def _cases() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(source, reference name, forge family, forge config fields) for every family and size."""
    cases: list[tuple[str, str, str, dict[str, Any]]] = []
    for depth in (18, 34, 50, 101, 152):
        cases.append(("torchvision", f"resnet{depth}", "resnet", {"depth": depth}))
        cases.append(("timm", f"resnet{depth}", "resnet", {"depth": depth}))
    for i in range(8):
        cases.append(("torchvision", f"efficientnet_b{i}", "efficientnet", {"variant": f"b{i}"}))
        # timm's efficientnet_b* use PyTorch's batch-norm epsilon at every size (torchvision: 1e-3 for b5-b7).
        cases.append(("timm", f"efficientnet_b{i}", "efficientnet", {"variant": f"b{i}", "norm_eps": 1e-5}))
    for tv_name, timm_name, variant in (
        ("mobilenet_v2", "mobilenetv2_100", "v2"),
        ("mobilenet_v3_small", "mobilenetv3_small_100", "v3_small"),
        ("mobilenet_v3_large", "mobilenetv3_large_100", "v3_large"),
    ):
        cases.append(("torchvision", tv_name, "mobilenet", {"variant": variant}))
        # timm's MobileNetV3 uses PyTorch's default epsilon, torchvision TF's 1e-3.
        eps = {} if variant == "v2" else {"norm_eps": 1e-5}
        cases.append(("timm", timm_name, "mobilenet", {"variant": variant, **eps}))
    return cases


def main(argv: list[str] | None = None) -> int:
    """Run the check; returns the process exit status (0: every model within tolerance)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default="", help="comma-separated reference names to check (default: all)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    args = parser.parse_args(argv)

    import timm
    import torch
    import torchvision
    from torch import nn

    from forge.vision.models.configs import EfficientNetConfig, MobileNetConfig, ResNetConfig
    from forge.vision.models.efficientnet import build_efficientnet
    from forge.vision.models.interop import load_timm_state_dict, load_torchvision_state_dict
    from forge.vision.models.mobilenet import build_mobilenet
    from forge.vision.models.resnet import build_resnet

    # Float32 means float32: TF32 matmuls/convs would differ between the two models by ~1e-3.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out_path = os.path.join(os.environ.get("OUT", "/tmp"), "vision_reference_check.jsonl")
    only = {s for s in args.only.split(",") if s}
    builders: dict[str, tuple[Any, Callable[[Any], nn.Module]]] = {
        "resnet": (ResNetConfig, build_resnet),
        "efficientnet": (EfficientNetConfig, build_efficientnet),
        "mobilenet": (MobileNetConfig, build_mobilenet),
    }

    def randomize_bn(model: nn.Module, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d) and m.running_mean is not None and m.running_var is not None:
                    c = m.num_features
                    m.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                    m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                    m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)

    failures = 0
    with open(out_path, "a", encoding="utf-8") as out:

        def emit(**kw: Any) -> None:
            line = json.dumps(kw)
            print(line, flush=True)
            out.write(line + "\n")
            out.flush()

        emit(
            what="env",
            torch=torch.__version__,
            torchvision=torchvision.__version__,
            timm=timm.__version__,
            device=torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        )
        for seed, (source, name, family, fields) in enumerate(_cases()):
            if only and name not in only:
                continue
            t0 = time.time()
            try:
                torch.manual_seed(seed)
                if source == "torchvision":
                    reference = getattr(torchvision.models, name)()
                else:
                    reference = timm.create_model(name, pretrained=False)
                randomize_bn(reference, seed)
                reference = reference.to(device).eval()
                config_cls, build = builders[family]
                config = config_cls(**fields)
                model = build(config)
                loader = load_torchvision_state_dict if source == "torchvision" else load_timm_state_dict
                loader(model, reference.state_dict())
                model = model.to(device).eval()
                size = config.resolution if isinstance(config, EfficientNetConfig) else 224
                x = torch.randn(2, 3, size, size, device=device)
                with torch.no_grad():
                    ref = reference(x).float()
                    got = model(x).float()
                err = float((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12))
                ok = bool(err <= TOLERANCE and got.shape == ref.shape)
                n_ref = sum(p.numel() for p in reference.parameters())
                n_forge = sum(p.numel() for p in model.parameters())
                emit(
                    what="reference_check",
                    source=source,
                    model=name,
                    forge=family,
                    config=fields,
                    input=list(x.shape),
                    max_rel_err=err,
                    params_ref=n_ref,
                    params_forge=n_forge,
                    ok=ok and n_ref == n_forge,
                    s=round(time.time() - t0, 2),
                )
                failures += 0 if ok and n_ref == n_forge else 1
            except Exception as exc:  # report every model, then fail the run
                failures += 1
                emit(what="reference_check", source=source, model=name, forge=family, ok=False, error=repr(exc)[:500])
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
        emit(what="reference_check_summary", failures=failures, tolerance=TOLERANCE)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
