"""Runs, the model registry, promotion gates and lineage.

- :func:`list_runs`, :func:`read_run` and :func:`compare_runs` read run directories
  (``forge runs list|show|compare``).
- :class:`ModelRegistry`: named, versioned models with stages (``staging``, ``production``,
  ``archived``) in a SQLite database, each version linked to its run, checkpoint, config hash,
  data fingerprint and license, code versions and evaluation; promotion and rollback; an
  append-only audit log (``forge models ...``, ``forge lineage``).
- :func:`gate`: a candidate against a baseline on the same regression set, with a paired
  bootstrap interval and McNemar's test; refuses when the candidate is significantly worse by more
  than a threshold (``forge gate``, exit code 1 on refusal).
- :func:`check_retrain`: drift (PSI, KS, MMD) or degraded metrics past a threshold request
  retraining in the audit log and require a person's approval (:meth:`ModelRegistry.approve`)
  before the next production promotion.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.hub._gate import GateResult as GateResult
    from forge.core.hub._gate import gate as gate
    from forge.core.hub._models import STAGES as STAGES
    from forge.core.hub._models import ModelRegistry as ModelRegistry
    from forge.core.hub._models import ModelVersion as ModelVersion
    from forge.core.hub._runs import RunSummary as RunSummary
    from forge.core.hub._runs import compare_runs as compare_runs
    from forge.core.hub._runs import list_runs as list_runs
    from forge.core.hub._runs import read_run as read_run
    from forge.core.hub._trigger import RetrainDecision as RetrainDecision
    from forge.core.hub._trigger import check_retrain as check_retrain

__getattr__, __dir__ = lazy_exports(__name__, __file__)
