"""Running sweeps and ablations: trials as run directories, results as tables and plots."""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from forge.core._atomic import write_json
from forge.core._logging import get_logger
from forge.core.errors import ConfigError, ForgeError
from forge.core.sweep._report import make_pruner
from forge.core.sweep._spec import AblationSpec, ParamSpec, SweepSpec

__all__ = ["SweepResult", "run_ablation", "run_sweep"]

_log = get_logger("forge.sweep")


@attrs.frozen
class SweepResult:
    """A finished sweep (this worker's trials and the study's table) or ablation."""

    directory: Path
    table: list[dict[str, Any]]
    best: dict[str, Any] | None
    importances: dict[str, float]


def _override(key: str, value: Any) -> str:
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return f"{key}={json.dumps(value)}"
        return f"{key}={json.dumps(decoded)}"
    return f"{key}={json.dumps(value)}"


def _distribution(p: ParamSpec) -> Any:
    import optuna

    if p.type == "categorical":
        return optuna.distributions.CategoricalDistribution(p.encoded_choices())
    assert p.low is not None and p.high is not None
    if p.type == "int":
        step = int(p.step) if p.step is not None else 1
        return optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log, step=step)
    return optuna.distributions.FloatDistribution(p.low, p.high, log=p.log, step=p.step)


def _study(spec: SweepSpec, directory: Path) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = spec.storage or f"sqlite:///{(directory / 'study.db').resolve()}"
    if spec.sampler in ("grid", "random"):  # grid points are enqueued by run_sweep, one per trial
        sampler: Any = optuna.samplers.RandomSampler(seed=spec.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=min(5, spec.trials))
    pruner = make_pruner(spec.pruner)
    return optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=spec.direction,
        load_if_exists=True,
    ), storage


def run_sweep(spec: SweepSpec, directory: str | os.PathLike[str]) -> SweepResult:
    """Run ``spec.trials`` trials (fewer when a grid is exhausted) into ``directory/trial-NNNN``.

    Several workers may run the same spec against one shared ``storage`` at once; each trial is
    claimed from the study, so none runs twice.

    Raises:
        ConfigError: a trial's run does not report ``spec.metric``.
    """
    import optuna

    from forge.core._runner import run_recipe

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    study, storage = _study(spec, root)
    distributions = {p.key: _distribution(p) for p in spec.params}
    for _ in range(spec.trials):
        if spec.sampler == "grid":
            point = _next_grid_point(study, spec)
            if point is None:
                break
            study.enqueue_trial(point, skip_if_exists=True)
        trial = study.ask(distributions)
        run_dir = root / f"trial-{trial.number:04d}"
        overrides = [*spec.overrides, *(_override(k, v) for k, v in trial.params.items())]
        report = {
            "storage": storage,
            "study": spec.name,
            "trial": trial.number,
            "metric": spec.metric,
            "pruner": spec.pruner,
        }
        trial.set_user_attr("run_dir", str(run_dir))
        overrides.append(_with_callback(spec.recipe, overrides, {"name": "core.sweep_report", **report}))
        try:
            result = run_recipe(spec.recipe, overrides, run_dir=run_dir)
        except optuna.TrialPruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            _log.info("sweep.pruned", trial=trial.number, run_dir=str(run_dir))
            continue
        except ForgeError as exc:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            _log.warning("sweep.trial_failed", trial=trial.number, error=str(exc))
            continue
        value = result.metrics.get(spec.metric)
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise ConfigError(f"metric {spec.metric!r}: the run reported only {sorted(result.metrics)}")
        study.tell(trial, float(value))
        _log.info("sweep.trial", trial=trial.number, value=float(value), **trial.params)
    return _summarise(study, spec, root)


def _with_callback(recipe: str, overrides: Sequence[str], section: Mapping[str, Any]) -> str:
    """A ``callbacks=[...]`` override: the recipe's own callbacks (after ``overrides``) plus ``section``."""
    from forge.core._recipe import load_recipe

    current = load_recipe(recipe, list(overrides)).callbacks
    sections = [{"name": c.name, **dict(c.params)} for c in current if c.name != "core.sweep_report"]
    return "callbacks=" + json.dumps([*sections, dict(section)])


def _next_grid_point(study: Any, spec: SweepSpec) -> dict[str, Any] | None:
    """The first grid point (in order) no trial of the study has taken yet, or None when all are."""
    taken = {tuple(t.params.get(p.key) for p in spec.params) for t in study.get_trials(deepcopy=False)}
    for point in itertools.product(*(p.grid() for p in spec.params)):
        if point not in taken:
            return dict(zip((p.key for p in spec.params), point, strict=True))
    return None


def _summarise(study: Any, spec: SweepSpec, root: Path) -> SweepResult:
    import optuna

    table = [
        {
            "trial": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "run_dir": t.user_attrs.get("run_dir"),
            **{f"param:{k}": v for k, v in t.params.items()},
        }
        for t in study.trials
    ]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = None
    if complete:
        b = study.best_trial
        best = {"trial": b.number, "value": b.value, "params": b.params, "run_dir": b.user_attrs.get("run_dir")}
    importances: dict[str, float] = {}
    if len(complete) >= 3 and len({t.value for t in complete}) > 1 and len(spec.params) > 1:
        try:
            importances = {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}
        except (RuntimeError, ValueError) as exc:
            _log.warning("sweep.importance_unavailable", error=str(exc))
    write_json(
        root / "sweep.json",
        {"metric": spec.metric, "direction": spec.direction, "best": best, "importances": importances, "trials": table},
    )
    columns = sorted({k for row in table for k in row}, key=lambda k: (k.startswith("param:"), k))
    with (root / "sweep.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)
    _parallel_coordinates([t for t in table if t["state"] == "complete"], spec, root / "parallel_coordinates.png")
    return SweepResult(directory=root, table=table, best=best, importances=importances)


def _parallel_coordinates(rows: Sequence[Mapping[str, Any]], spec: SweepSpec, path: Path) -> None:
    if len(rows) < 2:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = [f"param:{p.key}" for p in spec.params] + ["value"]

    def position(axis: str, value: Any, values: list[Any]) -> float:
        if isinstance(value, (int, float)) and all(isinstance(v, (int, float)) for v in values):
            lo, hi = min(values), max(values)
            p = next((q for q in spec.params if f"param:{q.key}" == axis), None)
            if p is not None and p.log and lo > 0:
                lo, hi, value = math.log(lo), math.log(hi), math.log(value)
            return 0.5 if hi == lo else (value - lo) / (hi - lo)
        order = sorted({str(v) for v in values})
        return order.index(str(value)) / max(1, len(order) - 1)

    columns = {a: [r.get(a) for r in rows] for a in axes}
    values = [float(r["value"]) for r in rows]
    vmin, vmax = min(values), max(values)
    fig, ax = plt.subplots(figsize=(1.8 * len(axes) + 2, 4))
    cmap = plt.get_cmap("viridis")
    for r in rows:
        ys = [position(a, r.get(a), columns[a]) for a in axes]
        shade = 0.5 if vmax == vmin else (float(r["value"]) - vmin) / (vmax - vmin)
        ax.plot(range(len(axes)), ys, color=cmap(shade if spec.direction == "maximize" else 1 - shade), alpha=0.8)
    ax.set_xticks(range(len(axes)), [a.removeprefix("param:") for a in axes[:-1]] + [spec.metric])
    ax.set_yticks([])
    ax.set_title(f"{spec.name}: {len(rows)} complete trials (colour: {spec.metric}, brighter is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _interval(xs: Sequence[float], confidence: float) -> tuple[float, float]:
    from scipy import stats

    mean = statistics.fmean(xs)
    half = stats.t.ppf((1 + confidence) / 2, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))
    return (mean - float(half), mean + float(half))


def run_ablation(spec: AblationSpec, directory: str | os.PathLike[str]) -> SweepResult:
    """Run the full recipe and each ablated variant with every seed; report each part's contribution.

    A part's contribution is ``metric(full) - metric(without the part)`` per seed, with its mean and
    a t-interval over the seeds (the same seed pairs a variant with the full run).
    """
    from forge.core._runner import run_recipe

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    variants: dict[str, tuple[str, ...]] = {"full": (), **spec.ablate}
    scores: dict[str, list[float]] = {}
    for name, extra in variants.items():
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-") or "variant"
        for seed in spec.seeds:
            run_dir = root / f"{slug}-seed{seed}"
            result = run_recipe(spec.recipe, [*spec.overrides, *extra, f"seed={seed}"], run_dir=run_dir, overwrite=True)
            if spec.metric not in result.metrics:
                raise ConfigError(f"metric {spec.metric!r}: the run reported only {sorted(result.metrics)}")
            scores.setdefault(name, []).append(float(result.metrics[spec.metric]))
    table = []
    for name in variants:
        row: dict[str, Any] = {"variant": name, "scores": scores[name], "mean": statistics.fmean(scores[name])}
        if name != "full":
            deltas = [f - v for f, v in zip(scores["full"], scores[name], strict=True)]
            lo, hi = _interval(deltas, spec.confidence)
            row.update(contribution=statistics.fmean(deltas), interval=[lo, hi], significant=lo > 0 or hi < 0)
        table.append(row)
    write_json(root / "ablation.json", {"metric": spec.metric, "seeds": list(spec.seeds), "variants": table})
    return SweepResult(directory=root, table=table, best=None, importances={})
