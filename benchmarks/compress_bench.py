"""CPU latency, size and held-out accuracy of one trained run in every deployment form, side by side.

Forms: fp32 eager, ``torch.compile``, ONNX Runtime, AOTInductor, torchao int8 dynamic (eager and
compiled) and int8 static (PT2E, compiled). Latency is the median of ``--iters`` calls at batch 1
and batch 32 (real test inputs), measured form after form in one process with the same thread
count; accuracy is the recipe's metric over the whole test split; size is what the form ships
(state dict, .onnx or .pt2 file).

Without ``--run`` it first trains the two reference runs on scikit-learn's digits (no download):
``mlp`` (linear-heavy: 64 -> 1024 -> 1024 -> 1024 -> 10) and ``resnet`` (the vision/digits
recipe, convolution-heavy). Run::

    python benchmarks/compress_bench.py --threads 1 --out /tmp/compress-bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

MLP_RECIPE = """
metrics = ["core.accuracy"]
seed = 0
[model]
name = "core.mlp"
in_features = 64
hidden = [1024, 1024, 1024]
num_classes = 10
[data]
name = "vision.digits"
val_fraction = 0.1
test_fraction = 0.2
seed = 0
batch_size = 64
num_workers = 0
[loss]
name = "core.cross_entropy"
[optimizer]
name = "core.adamw"
lr = 1e-3
[scheduler]
name = "core.warmup_cosine"
[trainer]
max_epochs = 12
precision = "fp32"
"""


def _median_ms(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, iters: int) -> float:
    with torch.no_grad():
        for _ in range(3):
            fn(x)
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def _accuracy(fn: Callable[[torch.Tensor], Any], loader: Any) -> float:
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            out = fn(x)
            out = out[0] if isinstance(out, (list, tuple)) else out
            correct += int((torch.as_tensor(out).argmax(-1) == y).sum())
            total += int(y.numel())
    return correct / total


def bench_run(run_dir: Path, iters: int, work: Path) -> list[dict[str, Any]]:
    """Every form of the run's best model: latency at batch 1 and 32, size and test accuracy."""
    from forge.core import load_model
    from forge.core.compress import model_size_bytes, quantize_dynamic, quantize_static
    from forge.core.compress._run import _loaders
    from forge.core.export import export_model

    model = load_model(run_dir, "best")
    _, train, val, test = _loaders(run_dir)
    loader = test if test is not None else val
    batches = [x for x, _ in loader]
    inputs = torch.cat(batches)[:32]
    x1, x32 = inputs[:1].contiguous(), inputs[:32].contiguous()
    forms: list[tuple[str, Callable[[torch.Tensor], Any], int]] = []
    forms.append(("fp32 eager", model, model_size_bytes(model)))
    compiled = torch.compile(model)
    forms.append(("fp32 torch.compile", compiled, model_size_bytes(model)))
    for fmt in ("onnx", "aoti"):
        result = export_model(model, (inputs[:2],), work / fmt, format=fmt, overwrite=True)
        size = sum(f["bytes"] for f in result.manifest["files"])
        if fmt == "onnx":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = torch.get_num_threads()
            session = ort.InferenceSession(str(work / fmt / "model.onnx"), opts, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name

            def run_ort(x: torch.Tensor, s: Any = session, n: str = name) -> Any:
                return torch.from_numpy(s.run(None, {n: x.numpy()})[0])

            forms.append(("ONNX Runtime", run_ort, size))
        else:
            import torch._inductor as inductor

            forms.append(("AOTInductor", inductor.aoti_load_package(str(work / fmt / "model.aoti.pt2")), size))
    try:
        dyn = quantize_dynamic(model)
        forms.append(("int8 dynamic (torchao), eager", dyn, model_size_bytes(dyn)))
        forms.append(("int8 dynamic (torchao), compiled", torch.compile(dyn), model_size_bytes(dyn)))
    except Exception as exc:  # a model without linear layers
        print(json.dumps({"run": str(run_dir), "form": "int8 dynamic", "skipped": str(exc)}))
    calibration = [(x,) for x, _ in (b for _, b in zip(range(16), train, strict=False))]
    try:
        static = quantize_static(model, (inputs[:2],), calibration)
        static_file = work / "static.pt2"
        torch.export.save(torch.export.export(static, (inputs[:2],)), str(static_file))
        forms.append(("int8 static (PT2E), compiled", torch.compile(static), static_file.stat().st_size))
    except Exception as exc:
        print(json.dumps({"run": run_dir.name, "form": "int8 static", "skipped": str(exc)[:300]}), flush=True)

    rows = []
    base: dict[str, float] = {}
    for label, fn, size in forms:
        acc = _accuracy(fn, loader)
        lat1, lat32 = _median_ms(fn, x1, iters), _median_ms(fn, x32, iters)
        if not base:
            base = {"b1": lat1, "b32": lat32, "acc": acc}
        row = {
            "run": run_dir.name,
            "form": label,
            "batch1_ms": round(lat1, 3),
            "batch32_ms": round(lat32, 3),
            "speedup_b1_vs_eager": round(base["b1"] / lat1, 2),
            "speedup_b32_vs_eager": round(base["b32"] / lat32, 2),
            "size_bytes": size,
            "test_accuracy": round(acc, 4),
            "accuracy_drop_points": round(100 * (base["acc"] - acc), 2),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Train the reference runs when needed, then measure every form of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--run", type=Path, action="append", help="trained run directory (repeatable)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="forge-compress-")))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from forge.core import run_recipe

    runs = args.run or []
    if not runs:
        args.out.mkdir(parents=True, exist_ok=True)
        recipe = args.out / "mlp.toml"
        recipe.write_text(MLP_RECIPE, encoding="utf-8")
        for name, source, overrides in (
            ("mlp", str(recipe), []),
            ("resnet", "vision/digits", ["trainer.max_epochs=8"]),
        ):
            if not (args.out / name / "config.json").exists():
                run_recipe(source, overrides, run_dir=args.out / name, overwrite=True)
            runs.append(args.out / name)
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "iters": args.iters}
    print(json.dumps({"meta": meta}), flush=True)
    results = []
    for run in runs:
        work = args.out / f"{run.name}-forms"
        work.mkdir(parents=True, exist_ok=True)
        results.extend(bench_run(run, args.iters, work))
    (args.out / "compress_bench.json").write_text(json.dumps({"meta": meta, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
