"""Evaluate a finished run: its checkpoint, on its dataset's test (or validation) split, scored by its recipe."""

from __future__ import annotations

import os
from typing import Any, Literal

from forge.core._run import RunDir
from forge.core._runner import build_loaders, load_weights, saved_recipe
from forge.core.errors import ForgeError
from forge.core.evaluator._intervals import wilson_interval

__all__ = ["evaluate_run"]


def _counts_samples(config: Any) -> bool:
    """Whether an accuracy config is correct samples / evaluated samples (one label each, none left out)."""
    return (
        getattr(config, "average", "micro") == "micro"
        and getattr(config, "task", "multiclass") != "multilabel"
        and getattr(config, "ignore_index", None) is None
    )


def evaluate_run(
    run_dir: str | os.PathLike[str],
    *,
    which: Literal["best", "last"] = "best",
    split: Literal["test", "val"] = "test",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Score a run's checkpoint on its dataset's test (or validation) split with its recipe's loss and metrics.

    Every ``[metrics]`` component of the run's recipe is built and updated with the model's outputs
    and the targets batch by batch, as the Trainer's validation does; ``loss`` is the recipe's loss
    averaged over samples. An ``accuracy`` metric that is the share of correctly predicted samples
    (micro average, one label per sample, no ``ignore_index``) is a proportion of independent
    trials, so it gets a Wilson interval (``accuracy_ci``). Other metrics are reported without an
    interval: they are not proportions of samples, and a bootstrap would need every prediction kept
    (:func:`forge.core.evaluator.bootstrap_interval` does that for predictions you hold).

    Args:
        run_dir: The run directory.
        which: "best" or "last" checkpoint.
        split: "test" (falls back to "val" when absent) or "val".
        confidence: Level of the accuracy's Wilson interval.

    Returns:
        ``{"run_dir", "split", "which", "samples", "loss", <one entry per recipe metric>,
        "accuracy_ci": [low, high] (see above), "confidence"}``; metrics are keyed by their short
        name (``core.accuracy`` -> ``accuracy``).

    Raises:
        CheckpointError: no loadable checkpoint.
        ForgeError: the dataset has neither split.

    Example::

        evaluate_run("runs/digits")["accuracy_ci"]   # [0.95..., 0.98...]
    """
    import torch

    run = RunDir(run_dir)
    recipe = saved_recipe(run)
    data = recipe.data.resolve()
    splits = data.build()
    used = "test" if split == "test" and splits.test is not None else "val"
    if (splits.test if used == "test" else splits.val) is None:
        raise ForgeError(f"{run.path}: dataset {recipe.data.name} has no {split} or val split to evaluate on")
    resolved = recipe.resolve(data=data)
    model = load_weights(resolved.model.build(), run.path, which, ema=recipe.trainer.eval_with_ema)
    _, val_loader, test_loader = build_loaders(resolved, splits)
    loss_fn = resolved.loss.build()
    sections = {m.ref.name.rsplit(".", 1)[-1]: m for m in resolved.metrics}
    metrics = {name: m.build() for name, m in sections.items()}
    total = targets = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, y in test_loader if used == "test" else val_loader:
            out = model(x)
            loss_sum += float(loss_fn(out, y)) * len(y)
            total += len(y)
            targets += y.numel()
            for metric in metrics.values():
                metric.update(out.float(), y)
    report: dict[str, Any] = {
        "run_dir": str(run.path),
        "split": used,
        "which": which,
        "samples": total,
        "loss": loss_sum / max(total, 1),
    }
    for name, metric in metrics.items():
        value = metric.compute()
        report[name] = float(value.item() if isinstance(value, torch.Tensor) else value)
    if "accuracy" in sections and targets == total and _counts_samples(sections["accuracy"].config):
        ci = wilson_interval(round(report["accuracy"] * total), total, confidence=confidence)
        report["accuracy_ci"] = [ci.lower, ci.upper]
    report["confidence"] = confidence
    return report
