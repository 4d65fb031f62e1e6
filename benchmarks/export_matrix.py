"""Which registered model exports in which format: every plugin's models x core's exporters.

For each model with a registered example input, builds it from its defaults, exports it with the
example batch (a tensor input repeated to 2 rows where it has 1; other inputs, such as a graph,
as registered) in each format, and records ``ok`` with the verification's max abs difference, or
the first line of the refusal. Prints a Markdown table (the known-limits table of docs/deploy.md)
and writes JSON lines to ``--out``. Run::

    python benchmarks/export_matrix.py --formats torch_export,onnx,torchscript --out /tmp/export_matrix.jsonl
    python benchmarks/export_matrix.py --models graph.gcn,graph.sage --formats torch_export   # a few rows
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch


def _example(spec: Any) -> tuple[Any, ...]:
    from forge.core import registry
    from forge.core._plugins import import_object

    config = registry.make_config("model", spec.name)
    example = import_object(spec.example, what=f"example of {spec.name}")(config)
    args = example if isinstance(example, tuple) else (example,)
    # Only a plain tensor is stacked into a batch of 2; a structured input (a Graph, a dict: any
    # pytree) carries its own batch layout, so it is used as the model registered it.
    return tuple(torch.cat([x, x]) if isinstance(x, torch.Tensor) and x.shape[0] < 2 else x for x in args)


def main(argv: list[str] | None = None) -> int:
    """Try every (model, format) pair; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--formats", default="torch_export,onnx,torchscript")
    parser.add_argument("--providers", default="vision,nlp,graph,diffusion,core")
    parser.add_argument("--models", default="", help="comma-separated model names to keep (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from forge.core import registry
    from forge.core.export import export_model

    formats = args.formats.split(",")
    providers = args.providers.split(",")
    models = {m for m in args.models.split(",") if m}
    rows = []
    for spec in sorted(registry.list("model"), key=lambda s: s.name):
        if spec.provider not in providers or spec.example is None or (models and spec.name not in models):
            continue
        try:
            torch.manual_seed(0)
            model = registry.build("model", spec.name).eval()
            example = _example(spec)
        except Exception as exc:  # needs user input (core.distill's teacher run, say)
            rows.append({"model": spec.name, "format": "-", "result": f"not built from defaults: {exc}"[:160]})
            continue
        for fmt in formats:
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    result = export_model(model, example, Path(tmp) / "e", format=fmt)
                    worst = max((o["max_abs"] for o in result.manifest["verification"]["outputs"]), default=0.0)
                    outcome = f"ok (max abs diff {worst:.1e})"
                except Exception as exc:
                    outcome = "fails: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            row = {
                "model": spec.name,
                "format": fmt,
                "result": outcome,
                "seconds": round(time.perf_counter() - start, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out is not None:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n| model | " + " | ".join(formats) + " |")
    print("| --- |" + " --- |" * len(formats))
    for name in dict.fromkeys(r["model"] for r in rows):
        cells = {r["format"]: r["result"] for r in rows if r["model"] == name}
        print(f"| {name} | " + " | ".join(cells.get(f, cells.get("-", "")) for f in formats) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
