"""Hyperparameter sweeps and ablations over recipes, every trial a normal run directory.

- :func:`run_sweep` (``forge sweep SPEC``): grid, random or Bayesian (TPE) search through Optuna,
  poor trials pruned from their intermediate validation metrics (median pruner), the study kept
  in an RDB storage (SQLite by default; any SQLAlchemy URL lets workers on several machines share
  one sweep: start ``forge sweep SPEC`` on each). Results: ``sweep.json``, ``sweep.csv``,
  parameter importances and a parallel-coordinates PNG in the sweep folder.
- :func:`run_ablation`: toggles named config parts, each over several seeds, and reports each
  part's contribution to the metric with a confidence interval over the seeds.

Importing this package is light (no torch, no optuna): each name loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.sweep._run import SweepResult as SweepResult
    from forge.core.sweep._run import run_ablation as run_ablation
    from forge.core.sweep._run import run_sweep as run_sweep
    from forge.core.sweep._spec import AblationSpec as AblationSpec
    from forge.core.sweep._spec import ParamSpec as ParamSpec
    from forge.core.sweep._spec import SweepSpec as SweepSpec
    from forge.core.sweep._spec import load_spec as load_spec

__getattr__, __dir__ = lazy_exports(__name__, __file__)
