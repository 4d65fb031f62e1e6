"""A classifier run analysed end to end, and the regression-evaluation set kept with it.

:func:`analyse_run` scores a run's checkpoint on one split and gathers, as one JSON-ready dict
(no NaN, no tensors): accuracy with a seeded BCa interval, per-class precision/recall/F1 and the
confusion matrix, calibration before and after temperature scaling (the temperature is fitted on
the validation split and applied to the analysed split), optional subgroup metrics, accuracy under
corruptions (images), feature noise (tabular features) or token perturbations (token ids),
optional OOD-detection AUROCs, the training curves from ``log.jsonl`` and the status of the
run's regression-evaluation set.

The regression set (:func:`write_regression_set`) is ``RUN_DIR/regression/<split>.safetensors``
(positions in the split, labels, predictions, correctness and a SHA-256 of every example's input)
plus ``<split>.json`` (what was scored, when, and the figures). :func:`regression_check` scores a
model on the same examples again and reports how many predictions changed, the accuracy
difference and McNemar's exact test of the paired correctness.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from forge.core._atomic import write_file, write_json
from forge.core._run import RunDir, find_checkpoint
from forge.core._run_files import read_json
from forge.core._runner import load_model, run_loaders, saved_recipe
from forge.core.errors import CheckpointError, ConfigError, DataError
from forge.core.evaluator._calibration import expected_calibration_error, fit_temperature, reliability_table
from forge.core.evaluator._fairness import subgroup_report
from forge.core.evaluator._robustness import CORRUPTIONS, corrupt, ood_auroc, perturb_tokens
from forge.core.evaluator._stats import bca_interval, mcnemar_test

__all__ = [
    "Predictions",
    "analyse_run",
    "json_ready",
    "predict",
    "read_groups",
    "regression_check",
    "training_curves",
    "write_regression_set",
]

Split = Literal["train", "val", "test"]
Which = Literal["best", "last"]
SEVERITIES = (1, 3, 5)
# Tabular features have no natural [0, 1] range: noise is a share of each feature's std on the split.
FEATURE_NOISE = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.5, 5: 0.8}
REGRESSION_DIR = "regression"
N_BINS = 15
_BATCH = 256


class Predictions:
    """What one model gave on one split: inputs (when a single tensor), logits and labels, in split order."""

    def __init__(self, inputs: torch.Tensor | None, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.inputs = inputs
        self.logits = logits
        self.labels = labels

    @property
    def predicted(self) -> torch.Tensor:
        """The arg-max class of every example."""
        return self.logits.argmax(-1)

    @property
    def correct(self) -> np.ndarray[Any, Any]:
        """1.0 where the prediction equals the label, else 0.0."""
        return (self.predicted == self.labels).double().numpy()


def _inputs(batch: Any) -> tuple[Any, ...]:
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def predict(model: nn.Module, loader: Iterable[Any], *, where: str = "loader") -> Predictions:
    """Run ``model`` (eval mode, no grad, CPU) over ``loader``'s ``(inputs, targets)`` batches.

    Raises:
        DataError: the batches are not ``(inputs, integer class targets)`` or the model does not
            return ``[N, C]`` logits (this analysis is for classifiers).
    """
    model.eval()
    xs: list[torch.Tensor] = []
    single = True
    logits: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise DataError(f"{where}: batch {i} is not an (inputs, targets) pair")
            inputs = _inputs(batch)
            target = torch.as_tensor(batch[1])
            out = model(*inputs)
            if not isinstance(out, torch.Tensor) or out.ndim != 2:
                raise DataError(f"{where}: batch {i}: the model returned no [N, C] logits (classifiers only)")
            if target.ndim != 1 or target.dtype.is_floating_point or target.shape[0] != out.shape[0]:
                raise DataError(
                    f"{where}: batch {i}: targets must be 1-D integer class labels matching the logits, "
                    f"got {target.dtype} {tuple(target.shape)}"
                )
            logits.append(out.detach().float().cpu())
            labels.append(target.long().cpu())
            if single and len(inputs) == 1 and isinstance(inputs[0], torch.Tensor):
                xs.append(inputs[0].detach().cpu())
            else:
                single = False
    if not logits:
        raise DataError(f"{where}: no batches")
    stacked = torch.cat(xs) if single and xs else None
    return Predictions(stacked, torch.cat(logits), torch.cat(labels))


def _loaders(run_dir: Path) -> dict[str, Any]:
    """The run's train, val and test loaders (None for a missing split), rebuilt from its saved recipe, in order."""
    _, train, val, test = run_loaders(run_dir, ordered=True)
    return {"train": train, "val": val, "test": test}


def _split_loader(loaders: dict[str, Any], run_dir: Path, split: str) -> Any:
    if split not in loaders:
        raise ConfigError(f"split {split!r}: expected train, val or test")
    if loaders[split] is None:
        raise ConfigError(f"{run_dir}: the recipe has no {split} split")
    return loaders[split]


def _checkpoint_info(run_dir: Path, which: str) -> dict[str, Any]:
    ckpt = find_checkpoint(run_dir, which)  # type: ignore[arg-type]  # "best" or "last", checked by callers
    trainer = ckpt.manifest.get("trainer", {})
    where = ckpt.path.relative_to(run_dir) if ckpt.path.is_relative_to(run_dir) else ckpt.path
    return {"which": which, "path": str(where), "step": trainer.get("global_step"), "epoch": trainer.get("epoch")}


def _per_class(pred: np.ndarray[Any, Any], y: np.ndarray[Any, Any], num_classes: int) -> dict[str, Any]:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    rows = []
    for c in range(num_classes):
        tp = int(cm[c, c])
        predicted, actual = int(cm[:, c].sum()), int(cm[c, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"class": c, "support": actual, "precision": precision, "recall": recall, "f1": f1})
    macro = {k: float(np.mean([r[k] for r in rows])) for k in ("precision", "recall", "f1")}
    return {"per_class": rows, "macro": macro, "confusion_matrix": cm.tolist()}


def _calibration(p: Predictions, val: Predictions | None, *, in_sample: bool) -> dict[str, Any]:
    probs = p.logits.softmax(-1)
    labels = p.labels
    out: dict[str, Any] = {
        "n_bins": N_BINS,
        "ece_before": expected_calibration_error(probs, labels, N_BINS),
        "reliability_before": reliability_table(probs, labels, N_BINS),
        "temperature": None,
        "ece_after": None,
        "reliability_after": None,
        "val_ece_before": None,
        "val_ece_after": None,
        "note": "",
    }
    if val is None:
        out["note"] = "No validation split: temperature scaling not fitted"
        return out
    t = fit_temperature(val.logits, val.labels)
    scaled = (p.logits / t).softmax(-1)
    out.update(
        temperature=t,
        ece_after=expected_calibration_error(scaled, labels, N_BINS),
        reliability_after=reliability_table(scaled, labels, N_BINS),
        val_ece_before=expected_calibration_error(val.logits.softmax(-1), val.labels, N_BINS),
        val_ece_after=expected_calibration_error((val.logits / t).softmax(-1), val.labels, N_BINS),
        note="Temperature fitted on the validation split (NLL, LBFGS) and applied to this split"
        + (" (the same split: in-sample)" if in_sample else ""),
    )
    if not 0.01 <= t <= 100:
        # a model at chance level has no NLL minimum in T: the optimiser runs off towards T -> inf
        out["note"] += f"; T = {t:.3g} is degenerate: the model's confidence carries no information"
    return out


def _batched(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(x[i : i + _BATCH]).float() for i in range(0, x.shape[0], _BATCH)])


def _robustness(model: nn.Module, p: Predictions, seed: int) -> dict[str, Any]:
    x = p.inputs
    clean = float(np.mean(p.correct))
    result: dict[str, Any] = {"kind": None, "clean_accuracy": clean, "results": [], "note": ""}
    if x is None:
        result["note"] = "skipped: the model takes several inputs"
        return result

    def score(corrupted: torch.Tensor) -> float:
        return float((_batched(model, corrupted).argmax(-1) == p.labels).double().mean())

    rows: list[dict[str, Any]] = []
    if x.ndim == 4 and x.dtype.is_floating_point:
        clip = bool(x.min() >= 0 and x.max() <= 1)
        result["kind"] = "image"
        result["note"] = "image corruptions" + ("" if clip else " (inputs outside [0, 1]: not clipped)")
        for name in CORRUPTIONS:
            for s in SEVERITIES:
                rows.append(
                    {"perturbation": name, "severity": s, "accuracy": score(corrupt(x, name, s, seed=seed, clip=clip))}
                )
    elif x.ndim == 2 and x.dtype.is_floating_point:
        result["kind"] = "features"
        result["note"] = "Gaussian noise with a standard deviation of a share of each feature's (0.1, 0.3, 0.8)"
        std = x.std(dim=0, keepdim=True)
        g = torch.Generator().manual_seed(seed)
        for s in SEVERITIES:
            noisy = x + FEATURE_NOISE[s] * std * torch.randn(x.shape, generator=g, dtype=x.dtype)
            rows.append({"perturbation": "feature_noise", "severity": s, "accuracy": score(noisy)})
    elif x.ndim == 2 and not x.dtype.is_floating_point:
        vocab = int(x.max()) + 1
        result["kind"] = "tokens"
        result["note"] = f"token substitutions, deletions and swaps (vocabulary {vocab}, id 0 protected)"
        for s in SEVERITIES:
            rows.append(
                {
                    "perturbation": "token_perturbation",
                    "severity": s,
                    "accuracy": score(perturb_tokens(x, s, vocab_size=vocab, seed=seed)),
                }
            )
    else:
        result["note"] = f"skipped: no perturbation for {x.dtype} inputs of shape {tuple(x.shape)}"
    for r in rows:
        r["drop"] = clean - r["accuracy"]
    result["results"] = rows
    return result


def _ood(model: nn.Module, p: Predictions, source: str | os.PathLike[str] | Iterable[Any]) -> dict[str, Any]:
    if isinstance(source, (str, os.PathLike)):
        other = Path(source)
        loaders = _loaders(other)
        loader = loaders["test"] if loaders["test"] is not None else _split_loader(loaders, other, "val")
        name = str(other)
        inputs = predict_inputs(loader, where=f"OOD run {other}")
    else:
        name = "provided loader"
        inputs = predict_inputs(source, where="OOD loader")
    try:
        out_logits = _batched(model, inputs)
    except RuntimeError as exc:
        raise DataError(f"OOD set ({name}): the model cannot take its inputs {tuple(inputs.shape)}: {exc}") from exc
    aurocs = ood_auroc(p.logits, out_logits)
    return {"source": name, "in_count": int(p.logits.shape[0]), "out_count": int(out_logits.shape[0]), "auroc": aurocs}


def predict_inputs(loader: Iterable[Any], *, where: str) -> torch.Tensor:
    """The single input tensor of every batch of ``loader``, concatenated."""
    xs = []
    for i, batch in enumerate(loader):
        inputs = _inputs(batch)
        if len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor):
            raise DataError(f"{where}: batch {i} does not hold a single input tensor")
        xs.append(inputs[0].detach().cpu())
    if not xs:
        raise DataError(f"{where}: no batches")
    return torch.cat(xs)


def training_curves(run_dir: str | os.PathLike[str]) -> dict[str, list[list[float]]]:
    """``{"train/loss": [[step, value], ...], "val/loss": ..., "val/<metric>": ...}`` from ``log.jsonl``.

    Lines that are not JSON objects (a torn last line) are skipped; a run without a log gives ``{}``.
    """
    path = Path(run_dir) / "log.jsonl"
    curves: dict[str, list[list[float]]] = {}
    if not path.is_file():
        return curves
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            continue
        for key, value in record.items():
            wanted = key == "train/loss" or key.startswith("val/")
            if wanted and isinstance(value, (int, float)) and math.isfinite(value):
                curves.setdefault(key, []).append([float(record["step"]), float(value)])
    return curves


def read_groups(path: str | os.PathLike[str]) -> list[str]:
    """Group labels from a one-column CSV or text file, one per example (a header ``group`` is skipped).

    Raises:
        DataError: the file is missing, empty, or a line has more than one column.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"groups file {p}: not found")
    labels = []
    for n, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if "," in line:
            raise DataError(f"groups file {p}, line {n}: expected one column, got {line!r}")
        labels.append(line.strip('"'))
    if labels and labels[0].lower() == "group":
        labels = labels[1:]
    if not labels:
        raise DataError(f"groups file {p}: no group labels")
    return labels


def _input_hashes(p: Predictions) -> np.ndarray[Any, Any]:
    if p.inputs is None:
        raise DataError("regression set: the model takes several inputs; only single-tensor inputs are hashed")
    x = p.inputs.contiguous()
    rows = [hashlib.sha256(x[i].numpy().tobytes()).digest() for i in range(x.shape[0])]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 32)


def _regression_paths(run_dir: Path, split: str) -> tuple[Path, Path]:
    base = run_dir / REGRESSION_DIR
    return base / f"{split}.safetensors", base / f"{split}.json"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def write_regression_set(
    run_dir: str | os.PathLike[str],
    *,
    which: Which = "best",
    split: Split = "test",
    predictions: Predictions | None = None,
) -> Path:
    """Keep ``split``'s examples and ``which``'s predictions on them with the run; returns the JSON path.

    ``predictions`` are the model's on the split in order (scored here when not given). The
    tensors are written first, then the JSON, both atomically, so a present JSON means a whole set.
    """
    from safetensors.numpy import save_file

    run = Path(run_dir)
    if predictions is None:
        loader = _split_loader(_loaders(run), run, split)
        predictions = predict(load_model(run, which), loader, where=f"{run} {split} split")
    tensors_path, meta_path = _regression_paths(run, split)
    tensors_path.parent.mkdir(parents=True, exist_ok=True)
    hashes = _input_hashes(predictions)
    tensors: dict[str, np.ndarray[Any, Any]] = {
        "positions": np.arange(predictions.labels.shape[0], dtype=np.int64),
        "labels": predictions.labels.numpy().astype(np.int64),
        "predictions": predictions.predicted.numpy().astype(np.int64),
        "correct": predictions.correct.astype(np.uint8),
        "input_sha256": hashes,
    }
    write_file(tensors_path, lambda target: save_file(tensors, str(target)))
    meta = {
        "split": split,
        "checkpoint": _checkpoint_info(run, which),
        "examples": int(predictions.labels.shape[0]),
        "accuracy": float(np.mean(predictions.correct)),
        "inputs_sha256": hashlib.sha256(hashes.tobytes()).hexdigest(),
        "created": _now(),
        "tensors": tensors_path.name,
    }
    write_json(meta_path, meta)
    return meta_path


def regression_check(
    run_dir: str | os.PathLike[str],
    *,
    split: Split = "test",
    which: Which = "best",
    model: nn.Module | None = None,
    predictions: Predictions | None = None,
) -> dict[str, Any]:
    """Score a model on the run's regression set again and say what changed.

    ``model`` defaults to the run's ``which`` checkpoint as it is now; ``predictions`` (that
    model's on the split, in order) skips the scoring. Returns the example count, how many
    predictions changed, how many inputs no longer hash the same, the stored and current
    accuracy and their difference, and McNemar's exact test of the paired correctness.

    Raises:
        CheckpointError: the run has no regression set for ``split``.
        DataError: the split no longer has the same number of examples.
    """
    from safetensors.numpy import load_file

    run = Path(run_dir)
    tensors_path, meta_path = _regression_paths(run, split)
    if not meta_path.is_file() or not tensors_path.is_file():
        raise CheckpointError(f"{run}: no regression set for the {split} split ({meta_path} is missing)")
    meta = read_json(
        meta_path,
        recovery=f"move {meta_path.parent} aside; the next `forge report {run}` records a new regression set",
    )
    stored = load_file(str(tensors_path))
    if predictions is None:
        loader = _split_loader(_loaders(run), run, split)
        predictions = predict(model if model is not None else load_model(run, which), loader, where=f"{run} {split}")
    n = int(stored["labels"].shape[0])
    if predictions.labels.shape[0] != n:
        raise DataError(
            f"{run}: the {split} split has {predictions.labels.shape[0]} examples, its regression set {n}: "
            "the data changed; write the regression set again"
        )
    positions = stored["positions"]
    now_pred = predictions.predicted.numpy()[positions]
    now_correct = predictions.correct[positions]
    hashes = _input_hashes(predictions)[positions]
    inputs_changed = int(np.sum(np.any(hashes != stored["input_sha256"], axis=1)))
    labels_changed = int(np.sum(predictions.labels.numpy()[positions] != stored["labels"]))
    changed = now_pred != stored["predictions"]
    before = float(np.mean(stored["correct"]))
    after = float(np.mean(now_correct))
    only_before, only_now, p = mcnemar_test(stored["correct"].astype(float), now_correct)
    return {
        "split": split,
        "reference": meta.get("checkpoint"),
        "reference_created": meta.get("created"),
        "examples": n,
        "changed_predictions": int(changed.sum()),
        "changed_positions": positions[changed].tolist()[:100],
        "inputs_changed": inputs_changed,
        "labels_changed": labels_changed,
        "accuracy_reference": before,
        "accuracy_now": after,
        "accuracy_difference": after - before,
        "mcnemar": {"only_reference_correct": only_before, "only_now_correct": only_now, "p_value": p},
        "status": "unchanged"
        if not changed.any() and not inputs_changed and not labels_changed
        else ("data changed" if inputs_changed or labels_changed else "predictions changed"),
    }


def _groups_array(groups: Sequence[Any] | np.ndarray[Any, Any], n: int) -> np.ndarray[Any, Any]:
    g = np.asarray([str(v) for v in groups])
    if g.shape != (n,):
        raise DataError(f"groups: {g.shape[0] if g.ndim else 0} labels for a split of {n} examples (one per example)")
    return g


def analyse_run(
    run_dir: str | os.PathLike[str],
    *,
    which: Which = "best",
    split: Split = "test",
    groups: Sequence[Any] | np.ndarray[Any, Any] | None = None,
    ood_run_or_loader: str | os.PathLike[str] | Iterable[Any] | None = None,
    robustness: bool = True,
    regression: bool = True,
    seed: int = 0,
    resamples: int = 2000,
) -> dict[str, Any]:
    """Analyse a classifier run's ``which`` checkpoint on ``split``; a JSON-ready dict (see the module doc).

    Args:
        run_dir: The run directory.
        which: "best" or "last" checkpoint.
        split: The split analysed; temperature scaling is always fitted on "val".
        groups: One group label per example of the split, in the split's order (subgroup report).
        ood_run_or_loader: An out-of-distribution set: a run directory (its test split, else val)
            or an iterable of ``(inputs, targets)`` batches whose inputs the model accepts.
        robustness: Score the split under perturbations fitting its inputs.
        regression: Write the run's regression set for ``split`` when it has none, else check it.
        seed: Seed of the bootstrap and of every perturbation.
        resamples: Bootstrap resamples of the accuracy interval.

    Raises:
        ConfigError: unknown ``which``/``split``, or the recipe lacks the split.
        DataError: not a classifier, or ``groups`` does not have one label per example.

    Example:
        >>> analysis = analyse_run("runs/digits", groups=my_groups)  # doctest: +SKIP
        >>> analysis["summary"]["accuracy"]["estimate"]  # doctest: +SKIP
    """
    if which not in ("best", "last"):
        raise ConfigError(f"which {which!r}: expected best or last")
    run = Path(run_dir)
    model = load_model(run, which)
    loaders = _loaders(run)
    loader, val_loader = _split_loader(loaders, run, split), loaders["val"]
    p = predict(model, loader, where=f"{run} {split} split")
    val = (
        p
        if split == "val"
        else (predict(model, val_loader, where=f"{run} val split") if val_loader is not None else None)
    )
    y, pred = p.labels.numpy(), p.predicted.numpy()
    num_classes = int(p.logits.shape[1])
    correct = p.correct
    est, lo, hi = (
        bca_interval(correct, np.mean, resamples=resamples, seed=seed)
        if correct.size >= 2
        else (
            float(correct.mean()),
            float("nan"),
            float("nan"),
        )
    )
    nll = float(torch.nn.functional.cross_entropy(p.logits, p.labels))
    classes = _per_class(pred, y, num_classes)
    analysis: dict[str, Any] = {
        "run_dir": str(run.resolve()),
        "created": _now(),
        "split": split,
        "checkpoint": _checkpoint_info(run, which),
        "model": saved_recipe(RunDir(run)).model.name,
        "summary": {
            "examples": int(y.shape[0]),
            "num_classes": num_classes,
            "accuracy": {
                "estimate": est,
                "lower": lo,
                "upper": hi,
                "confidence": 0.95,
                "method": "bca",
                "resamples": resamples,
            },
            "loss": nll,
            "macro_f1": classes["macro"]["f1"],
            "seed": seed,
        },
        "classes": classes,
        "calibration": _calibration(p, val, in_sample=split == "val"),
        "training_curves": training_curves(run),
        "groups": None,
        "robustness": _robustness(model, p, seed) if robustness else None,
        "ood": _ood(model, p, ood_run_or_loader) if ood_run_or_loader is not None else None,
        "regression": None,
    }
    if groups is not None:
        analysis["groups"] = subgroup_report(pred, y, _groups_array(groups, y.shape[0]))
    if regression:
        analysis["regression"] = _regression_status(run, split, which, p)
    ready: dict[str, Any] = json_ready(analysis)
    return ready


def _regression_status(run: Path, split: Split, which: Which, p: Predictions) -> dict[str, Any]:
    if p.inputs is None:
        return {"status": "not kept", "note": "the model takes several inputs"}
    _, meta_path = _regression_paths(run, split)
    if not meta_path.is_file():
        write_regression_set(run, which=which, split=split, predictions=p)
        return {"status": "created", "path": f"{REGRESSION_DIR}/{meta_path.name}", "examples": int(p.labels.shape[0])}
    return {
        "path": f"{REGRESSION_DIR}/{meta_path.name}",
        **regression_check(run, split=split, which=which, predictions=p),
    }


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists and NaN/inf floats as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value
