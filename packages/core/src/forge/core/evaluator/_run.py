"""Evaluate a finished run: its checkpoint, on its dataset's test (or validation) split, scored by its recipe.

The report says where every figure comes from (which checkpoint, at which step, with the SHA-256
of its weights), which configuration produced it, and is written into the run directory
(``eval/<split>-<which>.json``) as well as returned.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from forge.core._atomic import write_text
from forge.core._digest import digest
from forge.core._run import RunDir, find_checkpoint
from forge.core._run_files import read_json
from forge.core._runner import build_loaders, load_weights, saved_recipe
from forge.core.errors import CheckpointError, ConfigError, DataError, ForgeError
from forge.core.evaluator._intervals import ConfidenceInterval, bootstrap_interval, wilson_interval

if TYPE_CHECKING:
    import numpy as np

    from forge.core._checkpoint import Checkpoint
    from forge.core._recipe import Component

__all__ = ["evaluate_run", "report_path"]

_TASK_TAGS = {"classification": "classification", "regression": "regression", "forecasting": "regression"}
"""Dataset task (by the word it contains) -> the registry tag of the metrics every such run is scored with."""

_MAX_KEPT_BYTES = 1 << 30
"""Above this many bytes of model outputs, predictions are not kept and only Wilson intervals are given."""


def report_path(run_dir: str | os.PathLike[str], *, split: str, which: str) -> Path:
    """Where :func:`evaluate_run` writes the report of ``split`` scored on checkpoint ``which``."""
    return Path(run_dir) / "eval" / f"{split}-{which}.json"


def _counts_samples(config: Any) -> bool:
    """Whether an accuracy config is correct samples / evaluated samples (one label each, none left out)."""
    return (
        getattr(config, "average", "micro") == "micro"
        and getattr(config, "task", "multiclass") != "multilabel"
        and getattr(config, "ignore_index", None) is None
        and getattr(config, "top_k", 1) == 1
    )


def _task_tag(task: str) -> str | None:
    return next((tag for word, tag in _TASK_TAGS.items() if word in task), None)


def _task_metrics(task: str, num_classes: int | None, have: set[str]) -> tuple[dict[str, Component], list[str]]:
    """The registered metrics tagged for the dataset's task that the recipe does not already name.

    Classification metrics are configured ``task="multiclass"`` (``"binary"`` for two classes is
    not assumed: a two-logit model is multiclass to torchmetrics) with the dataset's
    ``num_classes``; a metric whose config does not accept that is skipped and named.
    """
    from forge.core._recipe import ComponentRef
    from forge.core._registry import registry

    tag = _task_tag(task)
    if tag is None:
        return {}, []
    added: dict[str, Component] = {}
    skipped: list[str] = []
    params: dict[str, Any] = {}
    if tag == "classification":
        if num_classes is None:
            return {}, []
        params = {"task": "multiclass", "num_classes": num_classes}
    for spec in registry.list("metric", tags={tag}):
        if spec.short_name in have or spec.short_name in added:
            continue
        ref = ComponentRef("metric", spec.name, params, f"task metric {spec.name}")
        try:
            added[spec.short_name] = ref.resolve()
        except ForgeError as exc:
            skipped.append(f"{spec.name}: {exc}")
    return added, skipped


def _checkpoint_record(ckpt: Checkpoint, requested: str) -> dict[str, Any]:
    """Which checkpoint was scored: best or last (and whether "best" fell back), step, epoch, hashes."""
    state = ckpt.manifest.get("trainer", {}) if isinstance(ckpt.manifest, Mapping) else {}
    step = state.get("global_step")
    if step is None and ckpt.path.name.startswith("step-"):
        step = int(ckpt.path.name.removeprefix("step-"))
    body = read_json(ckpt.path / "manifest.json")  # verified by find_checkpoint
    files: dict[str, str] = body.get("files", {})
    record: dict[str, Any] = {
        "requested": requested,
        "which": requested,
        "step": step,
        "epoch": state.get("epoch"),
        "path": str(ckpt.path),
        "weights_sha256": files.get("model.safetensors"),
        "manifest_digest": body.get("digest"),
        "created": ckpt.created,
    }
    index_path = ckpt.path.parent / "index.json"
    if index_path.is_file():
        from forge.core._checkpoint import read_index  # torch: imported when a checkpoint is scored

        index = read_index(index_path)
        monitor, mode = str(index["monitor"]), index["mode"]
        entries = [{"step": e.step, "name": e.name, "metrics": e.metrics} for e in index["checkpoints"]]
        scored = [e for e in entries if isinstance(e.get("metrics", {}).get(monitor), (int, float))]
        scored = [e for e in scored if math.isfinite(e["metrics"][monitor])]
        sign = 1.0 if mode == "min" else -1.0
        best = min(scored, key=lambda e: (sign * e["metrics"][monitor], -e["step"]), default=None)
        last_step = max((int(e["step"]) for e in entries), default=None)
        record["monitor"] = monitor
        mine = next((e for e in entries if e.get("name") == ckpt.path.name), None)
        record["monitor_value"] = None if mine is None else mine.get("metrics", {}).get(monitor)
        record["last_step"] = last_step
        if requested == "best" and (best is None or best.get("name") != ckpt.path.name):
            # find_checkpoint falls back to the newest good checkpoint when none is ranked (or the best is corrupt)
            record["which"] = "last"
    return record


def _value(value: Any) -> float | list[float]:
    import torch

    if isinstance(value, torch.Tensor):
        return float(value.item()) if value.numel() == 1 else [float(v) for v in value.flatten().tolist()]
    return float(value)


def _bootstrap(
    score: Callable[[Any, Any], float],
    outputs: np.ndarray[Any, Any],
    targets: np.ndarray[Any, Any],
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> ConfidenceInterval | str:
    """The percentile-bootstrap interval of ``score`` over samples, or why there is none."""
    import torch

    def on_numpy(p: np.ndarray[Any, Any], t: np.ndarray[Any, Any]) -> float:
        return score(torch.from_numpy(p), torch.from_numpy(t))

    with warnings.catch_warnings():
        # a resample that lacks a class makes torchmetrics warn; that resample is skipped, not shown
        warnings.simplefilter("ignore")
        try:
            return bootstrap_interval(
                on_numpy, outputs, targets, num_resamples=resamples, confidence=confidence, seed=seed
            )
        except DataError as exc:
            return str(exc)


def _metric_score(metric: Any) -> Callable[[Any, Any], float]:
    def score(out: Any, y: Any) -> float:
        metric.reset()
        metric.update(out, y)
        value = _value(metric.compute())
        if isinstance(value, list):
            raise ValueError("the metric is not a scalar")
        return value

    return score


def evaluate_run(
    run_dir: str | os.PathLike[str],
    *,
    which: Literal["best", "last"] = "best",
    split: Literal["test", "val"] = "test",
    confidence: float = 0.95,
    resamples: int = 200,
    seed: int = 0,
    task_metrics: bool = True,
    write: bool = True,
) -> dict[str, Any]:
    """Score a run's checkpoint on its dataset's test (or validation) split, with confidence intervals.

    The metrics are the recipe's ``[[metrics]]`` plus, with ``task_metrics``, every registered
    metric tagged for the dataset's task (``classification``: accuracy, F1, AUROC, average
    precision, calibration error; ``regression``: MSE, MAE), configured for the dataset's classes.
    Each is computed on the whole split as the Trainer's validation does; ``loss`` is the recipe's
    loss averaged over samples. Intervals: accuracy that is the share of correctly predicted
    samples gets a Wilson interval; every other scalar metric and the loss a seeded percentile
    bootstrap over samples (``resamples`` draws; the model's outputs are kept for it, unless they
    would exceed 1 GiB). The report names the checkpoint each figure comes from (best or last, its
    step and the SHA-256 of its weights) and the configuration that produced it, and is written
    to :func:`report_path` inside the run directory.

    Args:
        run_dir: The run directory.
        which: "best" (by the monitored metric; falls back to "last" when none was recorded, and
            ``checkpoint.which`` says so) or "last" checkpoint.
        split: "test" (falls back to "val" when absent) or "val".
        confidence: Level of every interval.
        resamples: Bootstrap resamples (0: no bootstrap intervals).
        seed: Seed of the bootstrap.
        task_metrics: Add the metrics registered for the dataset's task to the recipe's.
        write: Write the report into the run directory.

    Returns:
        ``{"run_dir", "split", "which", "samples", "loss", <one entry per metric, by short name>,
        "<metric>_ci": [low, high], "intervals": {metric: interval details}, "metric_sources":
        {metric: "recipe" | "task"}, "checkpoint": {...}, "config": {...}, "confidence",
        "report_path", "notes": [...]}``.

    Raises:
        CheckpointError: no loadable checkpoint.
        ConfigError: ``confidence`` outside (0, 1) or ``resamples`` negative.
        ForgeError: the dataset has neither split.

    Example::

        report = evaluate_run("runs/digits")
        report["accuracy_ci"], report["checkpoint"]["step"]   # [0.95..., 0.98...], 420
    """
    import torch

    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 0:
        raise ConfigError(f"resamples must be >= 0, got {resamples}")
    run = RunDir(run_dir)
    recipe = saved_recipe(run)
    data = recipe.data.resolve()
    splits = data.build()
    used = "test" if split == "test" and splits.test is not None else "val"
    if (splits.test if used == "test" else splits.val) is None:
        raise ForgeError(f"{run.path}: dataset {recipe.data.name} has no {split} or val split to evaluate on")
    resolved = recipe.resolve(data=data)
    ckpt = find_checkpoint(run.path, which)
    checkpoint = _checkpoint_record(ckpt, which)
    model = load_weights(resolved.model.build(), ckpt.path, which, ema=recipe.trainer.eval_with_ema)
    _, val_loader, test_loader = build_loaders(resolved, splits)
    loss_fn = resolved.loss.build()
    sections: dict[str, Component] = {m.ref.name.rsplit(".", 1)[-1]: m for m in resolved.metrics}
    sources = dict.fromkeys(sections, "recipe")
    skipped: list[str] = []
    if task_metrics:
        extra, skipped = _task_metrics(splits.info.task, splits.info.num_classes, set(sections))
        sections.update(extra)
        sources.update(dict.fromkeys(extra, "task"))
    metrics = {name: m.build() for name, m in sections.items()}
    total = targets = 0
    loss_sum = 0.0
    kept_out: list[torch.Tensor] = []
    kept_y: list[torch.Tensor] = []
    kept_bytes = 0
    keep = resamples > 0
    with torch.no_grad():
        for x, y in test_loader if used == "test" else val_loader:
            out = model(x)
            loss_sum += float(loss_fn(out, y)) * len(y)
            total += len(y)
            targets += y.numel()
            for name, metric in list(metrics.items()):
                try:
                    metric.update(out.float(), y)
                except Exception as exc:
                    if sources[name] == "recipe":
                        raise
                    # a task metric another plugin registered may not fit this model's outputs
                    del metrics[name]
                    skipped.append(f"{sections[name].ref.name}: {type(exc).__name__}: {exc}")
            if keep:
                kept_bytes += out.numel() * 4 + y.numel() * y.element_size()
                keep = kept_bytes <= _MAX_KEPT_BYTES and len(out) == len(y)
                kept_out.append(out.float().cpu())
                kept_y.append(y.cpu())
    notes: list[str] = []
    sources = {n: sources[n] for n in ("loss", *metrics) if n in sources}
    report: dict[str, Any] = {
        "run_dir": str(run.path),
        "split": used,
        "which": checkpoint["which"],
        "samples": total,
        "loss": loss_sum / max(total, 1),
    }
    intervals: dict[str, dict[str, Any]] = {}
    for name, metric in metrics.items():
        report[name] = _value(metric.compute())
    accuracy = sections.get("accuracy")
    if accuracy is not None and targets == total and _counts_samples(accuracy.config) and total:
        ci = wilson_interval(round(float(report["accuracy"]) * total), total, confidence=confidence)
        intervals["accuracy"] = ci.to_dict()
    if keep and kept_out:
        outputs, labels = torch.cat(kept_out).numpy(), torch.cat(kept_y).numpy()
        scores: dict[str, Callable[[Any, Any], float]] = {"loss": lambda o, t: float(loss_fn(o, t))}
        scores.update({n: _metric_score(m) for n, m in metrics.items() if not isinstance(report[n], list)})
        for name, score in scores.items():
            if name in intervals:
                continue
            found = _bootstrap(score, outputs, labels, resamples=resamples, confidence=confidence, seed=seed)
            if isinstance(found, str):
                notes.append(f"{name}: no interval: {found}")
            else:
                intervals[name] = found.to_dict()
    elif resamples > 0:
        notes.append("bootstrap intervals skipped: the model's outputs on this split are too large to keep")
    for name, ci_data in intervals.items():
        report[f"{name}_ci"] = [ci_data["lower"], ci_data["upper"]]
    if requested_fell_back := (which == "best" and checkpoint["which"] == "last"):
        notes.append(
            f"no best checkpoint by {checkpoint.get('monitor', 'the monitored metric')} was recorded (or it does"
            " not verify): the newest good checkpoint was scored"
        )
    trained = _trained_figures(run.path, notes)
    if trained is not None and trained[1] and not requested_fell_back:
        final_step, keys = trained
        if checkpoint["step"] != final_step:
            notes.append(
                f"the training summary's {', '.join(keys)} (metrics.json) are the final weights at step "
                f"{final_step}; these figures are the {checkpoint['which']} checkpoint at step {checkpoint['step']}"
            )
    report.update(
        {
            "intervals": intervals,
            "metric_sources": {"loss": "recipe", **sources},
            "checkpoint": checkpoint,
            "confidence": confidence,
            "config": {
                "run": run.read_config(),
                "run_config_digest": digest(run.read_config()),
                "evaluation": {
                    "which": which,
                    "split": split,
                    "confidence": confidence,
                    "resamples": resamples,
                    "seed": seed,
                    "task_metrics": task_metrics,
                    "metrics": {n: sections[n].to_dict() for n in metrics},
                },
            },
            "notes": notes + [f"task metric skipped: {s}" for s in skipped],
        }
    )
    if write:
        path = report_path(run.path, split=used, which=checkpoint["which"])
        report["report_path"] = str(path)
        write_text(path, json.dumps(_finite(report), indent=2, sort_keys=True, default=str, allow_nan=False))
    return report


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None, so the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _trained_figures(run_path: Path, notes: list[str]) -> tuple[int, list[str]] | None:
    """The final step and the test/val keys of the training summary (``metrics.json``), if written."""
    try:
        data = read_json(run_path / "metrics.json", missing=None)
    except CheckpointError as exc:  # evaluating again is what a damaged metrics.json leaves to do
        notes.append(f"the training summary is not used: {exc}")
        return None
    if data is None:
        return None
    step = data.get("step")
    if not isinstance(step, int):
        return None
    return step, sorted(k for k in data if k.startswith(("test/", "val/")))
