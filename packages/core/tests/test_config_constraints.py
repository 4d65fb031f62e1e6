"""Every config field of forge-core declares its constraint (ranges, non-empty, one-of).

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason. The same check serves the domain plugins (their ``test_config_constraints.py``).
"""

from __future__ import annotations

import attrs
import pytest

from forge.core.testing import config_classes, declares_constraint, missing_constraints

MODULES = (
    "forge.core.trainer._config",
    "forge.core.distributed._config",
    "forge.core.data._configs",
    "forge.core.compress._configs",
    "forge.core.export._configs",
    "forge.core.tracking._configs",
)
NOT_CONFIGS = {"ResolvedSettings": "the trainer's derived settings, never read from a file"}
_IGNORE = "any class id: the -100 padding convention is negative"
_PATTERNS = "may be empty (no such split or no such columns); each item is a path or a column name"
UNCONSTRAINED = {
    **{f"{cls}.ignore_index": _IGNORE for cls in ("CrossEntropyConfig", "DistillationConfig", "FocalLossConfig")},
    **{
        f"{cls}.ignore_index": _IGNORE
        for cls in (
            "WeightedCrossEntropyConfig",
            "AUROCConfig",
            "AccuracyConfig",
            "AveragePrecisionConfig",
            "CalibrationErrorConfig",
            "F1Config",
            "PerplexityConfig",
        )
    },
    **{f"JsonlTextConfig.{f}": _PATTERNS for f in ("val", "test")},
    **{f"TabularConfig.{f}": _PATTERNS for f in ("numeric", "categorical")},
}
CLASSES = config_classes("core", MODULES, exclude=NOT_CONFIGS)


def test_the_scan_finds_cores_configs() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {"TrainerConfig", "CheckpointConfig", "FSDPConfig", "AdamWConfig", "LoaderConfig", "PruningConfig"} <= names
    assert "ResolvedSettings" not in names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_field_declares_a_constraint(cls: type) -> None:
    missing = missing_constraints(cls, UNCONSTRAINED)
    assert not missing, f"declare a constraint (gt/ge/lt/le/one_of/non_empty) or add to UNCONSTRAINED: {missing}"


def test_the_allow_list_names_only_fields_that_exist_and_lack_a_constraint() -> None:
    fields = {f"{c.__name__}.{a.name}": a for c in CLASSES for a in attrs.fields(c)}
    for key, reason in UNCONSTRAINED.items():
        assert key in fields, f"{key} is no field any more"
        assert not declares_constraint(fields[key]), f"{key} declares a constraint now; drop it from UNCONSTRAINED"
        assert reason


def test_missing_constraints_finds_an_undeclared_field() -> None:
    from forge.core.config import field

    @attrs.frozen
    class Loose:
        depth: int = field(3, help="How deep.")
        width: int = field(3, help="How wide.", ge=1)
        flag: bool = field(False, help="Booleans need no constraint.")

    assert missing_constraints(Loose) == ["Loose.depth"]
    assert missing_constraints(Loose, ["Loose.depth"]) == []
