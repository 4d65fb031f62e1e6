"""CPU latency, size and held-out accuracy of trained models in every deployment form, side by side.

Models (``--models``, trained here on bundled data, no download; seeded, deterministic kernels and
one thread, so a run's weights do not depend on ``--threads``; a finished run in ``--work`` is reused):

- ``mlp``: linear-heavy, 64 -> 1024 -> 1024 -> 1024 -> 10 on scikit-learn's digits;
- ``resnet``: the ``vision/digits`` recipe (forge-vision's ResNet-18, small stem, width 0.5),
  convolution-heavy;
- ``bert``: a BERT-small (Turc et al., 2019: 4 layers, hidden 512, 8 heads, FFN 2048, post-LN,
  GELU; 12.9M parameters with the recipe's 512-token BPE vocabulary), sequence length 64: forge-nlp's
  ``nlp.encoder_classifier`` trained by the ``nlp/text-classification`` recipe with overrides on
  its shipped 300-sentence topic CSV (60 steps, about 2 minutes on one thread);
- ``bert-tiny`` (not in the default set): that recipe as shipped (2 layers, d_model 64).

Forms of each model: fp32 eager, ``torch.compile`` (plain and with Inductor's freezing), ONNX
Runtime and AOTInductor (both through ``forge.core.export.export_model``, verified against eager),
int8 dynamic (``forge.core.compress.quantize_dynamic``: the ``pt2e`` backend, torchao's x86
Inductor quantizer in dynamic mode, and the ``torchao`` backend, eager and compiled), int8 static
(PT2E with calibration on training batches, ``forge.core.compress.quantize_static``), the compiled
int8 forms through ``forge.core.compress.compile_quantized`` (``torch.compile`` with freezing,
which their oneDNN int8 kernels need), and as a reference the deprecated eager
``torch.ao.quantization.quantize_dynamic`` (fbgemm kernels), which forge does not use.

Per form: latency at batch 1 and batch 32 (median and p90 of ``--iters`` timed calls after
``--warmup`` calls, on real test inputs, ``--threads`` threads for torch and onnxruntime alike),
size on disk (state dict, ``.onnx`` or ``.pt2`` file), the recipe's metric on the held-out test
split (val when the recipe has none; evaluated in batches of 32 so the compiled forms see one
shape), and speedups and accuracy drop against fp32 eager of the same model in the same run. A
form that fails is a row with the error's first line; torchao or onnxruntime missing is such a row.

Output: a markdown table on stdout (progress goes to stderr) and a JSON file (``--out``). Run::

    python benchmarks/compress_bench.py --threads 1 --out /tmp/compress-bench.json
    python benchmarks/compress_bench.py --quick --models mlp,bert   # smoke check, a few minutes
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
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

BATCH = 32  # the large batch; the small one is 1
TRAIN_THREADS = 1
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# BERT-small's shape (Turc et al., 2019) on the text-classification recipe; sequences padded to 64
# tokens (the CSV's sentences need about 20); a BERT-sized learning rate instead of the tiny model's 3e-3
BERT_SMALL = (
    "model.d_model=512",
    "model.n_layers=4",
    "model.n_heads=8",
    "model.d_ff=2048",
    "model.max_positions=64",
    "data.max_length=64",
    "optimizer.lr=5e-4",
    "scheduler.warmup_steps=6",
)


@dataclass(frozen=True)
class ModelSpec:
    """A reference model: the recipe that trains it and the overrides of the full and quick runs."""

    recipe: str
    full: tuple[str, ...]
    quick: tuple[str, ...]


MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec("mlp.toml", (), ("trainer.max_epochs=2",)),
    "resnet": ModelSpec(
        "vision/digits",
        ("trainer.max_epochs=8",),
        ("trainer.max_epochs=1", "scheduler.warmup_steps=5"),
    ),
    "bert": ModelSpec(
        "nlp/text-classification",
        (*BERT_SMALL, "trainer.max_steps=60", "trainer.val_every_n_steps=20"),
        (*BERT_SMALL, "trainer.max_steps=8", "trainer.val_every_n_steps=4", "scheduler.warmup_steps=2"),
    ),
    "bert-tiny": ModelSpec(
        "nlp/text-classification",
        (),
        ("trainer.max_steps=40", "trainer.val_every_n_steps=20", "scheduler.warmup_steps=5"),
    ),
}


class Unavailable(Exception):
    """A form that cannot run here (a peer library is missing); its message is the row's error."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def first_line(exc: BaseException) -> str:
    """The error's first line, without terminal colour codes, prefixed by its type."""
    if isinstance(exc, Unavailable):
        return str(exc)
    text = ANSI.sub("", str(exc)).strip()
    line = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def output_tensor(out: Any) -> torch.Tensor:
    """The logits of a form's output (ONNX Runtime and some packages return a list)."""
    out = out[0] if isinstance(out, (list, tuple)) else out
    return torch.as_tensor(out)


def fixed_batch(fn: Callable[[torch.Tensor], Any], size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``fn`` applied in chunks of exactly ``size`` rows (the last padded, its padding dropped)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        outs = []
        for start in range(0, x.shape[0], size):
            part = x[start : start + size]
            n = part.shape[0]
            if n < size:
                part = torch.cat([part, part[-1:].expand(size - n, *part.shape[1:])])
            outs.append(output_tensor(fn(part.contiguous()))[:n])
        return torch.cat(outs)

    return run


def latency_ms(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, warmup: int, iters: int) -> tuple[float, float]:
    """Median and p90 (nearest rank) of ``iters`` timed calls after ``warmup`` untimed ones."""
    with torch.no_grad():
        for _ in range(warmup):
            fn(x)
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return statistics.median(times), times[max(0, math.ceil(0.9 * len(times)) - 1)]


def need(module: str) -> None:
    """Refuse a form whose peer library is missing, with the row's message."""
    if importlib.util.find_spec(module) is None:
        raise Unavailable(f"{module} not installed")


def train(name: str, spec: ModelSpec, work: Path, quick: bool) -> Path:
    """Train the reference run (reused when ``work`` already holds a finished one of the same mode)."""
    from forge.core import find_checkpoint, run_recipe

    run_dir = work / (f"{name}-quick" if quick else name)
    try:
        find_checkpoint(run_dir, "best")
        log(f"[{name}] reusing the trained run {run_dir}")
        return run_dir
    except Exception:  # not trained yet (or unfinished): train it afresh
        pass
    source = spec.recipe
    if name == "mlp":
        recipe = work / "mlp.toml"
        recipe.write_text(MLP_RECIPE, encoding="utf-8")
        source = str(recipe)
    overrides = [*(spec.quick if quick else spec.full), "trainer.deterministic=true"]
    log(f"[{name}] training {source} {' '.join(overrides)}")
    start, threads = time.perf_counter(), torch.get_num_threads()
    # one thread and deterministic kernels: the same weights whatever --threads the forms run with
    torch.set_num_threads(TRAIN_THREADS)
    try:
        run_recipe(source, overrides, run_dir=run_dir, overwrite=True)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)  # the forms run with torch's default kernels
    log(f"[{name}] trained in {time.perf_counter() - start:.0f} s")
    return run_dir


def held_out(run_dir: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The run's train loader, held-out loader (test, else val) and the recipe's metrics."""
    from forge.core import Recipe, RunDir, build_loaders

    recipe = Recipe.from_dict(RunDir(run_dir).read_config(), source=str(run_dir / "config.json"))
    data = recipe.data.resolve()
    splits = data.build()
    resolved = recipe.resolve(data=data)
    train_loader, val, test = build_loaders(resolved, splits)
    metrics = {m.ref.name.rsplit(".", 1)[-1]: m.build() for m in resolved.metrics}
    return train_loader, test if test is not None else val, metrics


Form = tuple[Callable[[torch.Tensor], Any], int, str]


def forms(
    model: torch.nn.Module, example: torch.Tensor, calibration: list[tuple[torch.Tensor]], work: Path, threads: int
) -> list[tuple[str, Callable[[], Form]]]:
    """Each form's label and a builder giving (callable, bytes on disk, what the size counts)."""
    from forge.core.compress import compile_quantized, model_size_bytes, quantize_dynamic, quantize_static
    from forge.core.export import export_model

    def eager() -> Form:
        return model, model_size_bytes(model), "state dict"

    def compiled() -> Form:
        return torch.compile(model), model_size_bytes(model), "state dict"

    def compiled_frozen() -> Form:
        return compile_quantized(model), model_size_bytes(model), "state dict"

    def onnx() -> Form:
        need("onnxruntime")
        import onnxruntime as ort

        result = export_model(model, (example,), work / "onnx", format="onnx", overwrite=True)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        session = ort.InferenceSession(str(work / "onnx" / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {name: x.numpy()})[0])

        return run, sum(f["bytes"] for f in result.manifest["files"]), ".onnx"

    def aoti() -> Form:
        import torch._inductor as inductor

        result = export_model(model, (example,), work / "aoti", format="aoti", overwrite=True)
        runner = inductor.aoti_load_package(str(work / "aoti" / "model.aoti.pt2"))
        return runner, sum(f["bytes"] for f in result.manifest["files"]), ".pt2 package"

    def dynamic(backend: str, compile_it: bool) -> Callable[[], Form]:
        def build() -> Form:
            need("torchao")
            quantized = quantize_dynamic(model, (example,), backend=backend)  # type: ignore[arg-type]
            if backend == "pt2e":
                return compile_quantized(quantized), program_bytes(quantized, f"dynamic_{backend}.pt2"), ".pt2"
            size = model_size_bytes(quantized)
            return (compile_quantized(quantized) if compile_it else quantized), size, "state dict"

        return build

    def program_bytes(graph: Any, name: str) -> int:
        path = work / name
        dims = ({0: torch.export.Dim.DYNAMIC},)
        torch.export.save(torch.export.export(graph, (example,), dynamic_shapes=dims), str(path))
        return path.stat().st_size

    def static() -> Form:
        need("torchao")
        quantized = quantize_static(model, (example,), calibration)
        return compile_quantized(quantized), program_bytes(quantized, "static_int8.pt2"), ".pt2"

    def legacy() -> Form:
        # reference only: torch.ao.quantization's eager flow is deprecated upstream, forge does not use it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return quantized, model_size_bytes(quantized), "state dict"

    return [
        ("fp32 eager", eager),
        ("fp32 torch.compile", compiled),
        ("fp32 torch.compile, freezing", compiled_frozen),
        ("ONNX Runtime", onnx),
        ("AOTInductor", aoti),
        ("int8 dynamic (pt2e, forge default), compiled+freezing", dynamic("pt2e", True)),
        ("int8 dynamic (torchao), eager", dynamic("torchao", False)),
        ("int8 dynamic (torchao), compiled+freezing", dynamic("torchao", True)),
        ("int8 static (PT2E), compiled+freezing", static),
        ("int8 dynamic (torch.ao fbgemm, deprecated, reference), eager", legacy),
    ]


def bench_model(name: str, run_dir: Path, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Every form of the run's best model, measured one after the other in this process."""
    from forge.core import load_model
    from forge.core.compress import evaluate_model

    model = load_model(run_dir, "best").eval()
    train_loader, loader, metrics = held_out(run_dir)
    inputs = torch.cat([x for x, _ in loader])[:BATCH]
    x1, x32 = inputs[:1].contiguous(), inputs[:BATCH].contiguous()
    calibration = [(x,) for _, (x, _) in zip(range(args.calibration_batches), train_loader, strict=False)]
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    base: dict[str, float] | None = None
    for label, build in forms(model, inputs[:2].contiguous(), calibration, work, args.threads):
        row: dict[str, Any] = {"model": name, "form": label}
        start = time.perf_counter()
        try:
            fn, size, what = build()
            scores = evaluate_model(fixed_batch(fn, BATCH), loader, metrics)
            b1, b1_p90 = latency_ms(fn, x1, args.warmup, args.iters)
            b32, b32_p90 = latency_ms(fn, x32, args.warmup, args.iters)
        except Exception as exc:  # one form failing must not end the benchmark
            row["error"] = first_line(exc)
        else:
            metric = next(iter(scores))
            row.update(
                batch1_ms=round(b1, 3),
                batch1_p90_ms=round(b1_p90, 3),
                batch32_ms=round(b32, 3),
                batch32_p90_ms=round(b32_p90, 3),
                size_bytes=size,
                size_of=what,
                metric=metric,
                score=round(scores[metric], 4),
                metrics={k: round(v, 4) for k, v in scores.items()},
            )
            if label == "fp32 eager":
                base = {"b1": b1, "b32": b32, "score": scores[metric]}
            if base is not None:
                row.update(
                    speedup_b1_vs_eager=round(base["b1"] / b1, 2),
                    speedup_b32_vs_eager=round(base["b32"] / b32, 2),
                    drop_points_vs_eager=round(100 * (base["score"] - scores[metric]), 2),
                )
            del fn
        row["seconds"] = round(time.perf_counter() - start, 1)
        log(json.dumps(row))
        rows.append(row)
        torch._dynamo.reset()  # each compiled form starts from a clean cache and recompile budget
        gc.collect()
    return rows


def _fmt(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The side-by-side table."""
    lines = [
        "| model | form | b1 median ms | b1 p90 ms | b32 median ms | b32 p90 ms | vs eager b1 / b32 | size MB "
        "| held-out score | drop (points) | error |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        size = r.get("size_bytes")
        speed = (
            f"{r['speedup_b1_vs_eager']:.2f} / {r['speedup_b32_vs_eager']:.2f}x" if "speedup_b1_vs_eager" in r else "-"
        )
        score = f"{100 * r['score']:.2f}% {r['metric']}" if "score" in r else "-"
        cells = [
            r["model"],
            r["form"],
            _fmt(r.get("batch1_ms"), ".3f"),
            _fmt(r.get("batch1_p90_ms"), ".3f"),
            _fmt(r.get("batch32_ms"), ".3f"),
            _fmt(r.get("batch32_p90_ms"), ".3f"),
            speed,
            "-" if size is None else f"{size / 1e6:.2f} ({r['size_of']})",
            score,
            _fmt(r.get("drop_points_vs_eager"), ".2f"),
            r.get("error", "").replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Train the chosen reference models (or reuse them), then measure every form of each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", default="mlp,resnet,bert", help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--threads", type=int, default=cores, help=f"torch and onnxruntime threads (default {cores})")
    parser.add_argument("--iters", type=int, default=None, help="timed calls per batch size (default 50, quick 10)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 5, quick 2)")
    parser.add_argument("--calibration-batches", type=int, default=16, help="training batches for static int8")
    parser.add_argument("--quick", action="store_true", help="tiny training and few iterations: a smoke check")
    parser.add_argument("--work", type=Path, default=None, help="runs and exported forms (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="the JSON results (default WORK/compress_bench.json)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        parser.error(f"--models: unknown {', '.join(unknown) or '(none given)'}; expected some of {', '.join(MODELS)}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    args.iters = args.iters or (10 if args.quick else 50)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 5)
    if args.quick:
        args.calibration_batches = min(args.calibration_batches, 4)
    work = args.work or Path(tempfile.mkdtemp(prefix="forge-compress-"))
    work.mkdir(parents=True, exist_ok=True)
    out = args.out or work / "compress_bench.json"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    meta = {
        "torch": torch.__version__,
        "torchao": _version("torchao"),
        "onnxruntime": _version("onnxruntime"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_cores_available": cores,
        "threads": torch.get_num_threads(),
        "train_threads": TRAIN_THREADS,
        "iters": args.iters,
        "warmup": args.warmup,
        "calibration_batches": args.calibration_batches,
        "quick": args.quick,
        "models": names,
        "work": str(work),
    }
    log(json.dumps({"meta": meta}))
    rows: list[dict[str, Any]] = []
    for name in names:
        try:
            run_dir = train(name, MODELS[name], work, args.quick)
            rows.extend(bench_model(name, run_dir, args, work / f"{run_dir.name}-forms"))
        except Exception as exc:  # training or data failed: one row says so, the other models still run
            rows.append({"model": name, "form": "(training / data)", "error": first_line(exc)})
            log(json.dumps(rows[-1]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    mode = "quick mode (tiny training, few iterations: a smoke check, not a measurement)" if args.quick else "full"
    print(f"compress_bench: {mode}; torch {meta['torch']}, torchao {meta['torchao'] or 'not installed'}, ", end="")
    print(f"threads={meta['threads']}, {args.iters} timed calls after {args.warmup} warmup; JSON: {out}\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
