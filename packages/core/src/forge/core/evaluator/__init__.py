"""Evaluation: confidence intervals, a JSON evaluation report, scoring a finished run, and the
statistics behind them: BCa intervals, paired comparisons of two models (bootstrap, permutation,
McNemar, effect size), cross-validation and time-series splits, calibration (ECE, reliability
diagrams, temperature scaling), subgroup fairness gaps, corruption robustness and OOD scores.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.evaluator._analysis import analyse_run as analyse_run
    from forge.core.evaluator._analysis import read_groups as read_groups
    from forge.core.evaluator._analysis import regression_check as regression_check
    from forge.core.evaluator._analysis import write_regression_set as write_regression_set
    from forge.core.evaluator._calibration import expected_calibration_error as expected_calibration_error
    from forge.core.evaluator._calibration import fit_temperature as fit_temperature
    from forge.core.evaluator._calibration import reliability_diagram as reliability_diagram
    from forge.core.evaluator._calibration import reliability_table as reliability_table
    from forge.core.evaluator._drift import drift_report as drift_report
    from forge.core.evaluator._drift import ks_statistic as ks_statistic
    from forge.core.evaluator._drift import ks_test as ks_test
    from forge.core.evaluator._drift import mmd as mmd
    from forge.core.evaluator._drift import psi as psi
    from forge.core.evaluator._fairness import subgroup_report as subgroup_report
    from forge.core.evaluator._html import write_html_report as write_html_report
    from forge.core.evaluator._intervals import ConfidenceInterval as ConfidenceInterval
    from forge.core.evaluator._intervals import bootstrap_interval as bootstrap_interval
    from forge.core.evaluator._intervals import wilson_interval as wilson_interval
    from forge.core.evaluator._report import EvalReport as EvalReport
    from forge.core.evaluator._robustness import CORRUPTIONS as CORRUPTIONS
    from forge.core.evaluator._robustness import corrupt as corrupt
    from forge.core.evaluator._robustness import ood_auroc as ood_auroc
    from forge.core.evaluator._robustness import ood_scores as ood_scores
    from forge.core.evaluator._robustness import perturb_tokens as perturb_tokens
    from forge.core.evaluator._run import evaluate_run as evaluate_run
    from forge.core.evaluator._run import report_path as report_path
    from forge.core.evaluator._splits import kfold as kfold
    from forge.core.evaluator._splits import stratified_kfold as stratified_kfold
    from forge.core.evaluator._splits import time_series_splits as time_series_splits
    from forge.core.evaluator._stats import PairedComparison as PairedComparison
    from forge.core.evaluator._stats import bca_interval as bca_interval
    from forge.core.evaluator._stats import mcnemar_test as mcnemar_test
    from forge.core.evaluator._stats import paired_bootstrap as paired_bootstrap
    from forge.core.evaluator._stats import paired_effect_size as paired_effect_size
    from forge.core.evaluator._stats import permutation_test as permutation_test

__getattr__, __dir__ = lazy_exports(__name__, __file__)
