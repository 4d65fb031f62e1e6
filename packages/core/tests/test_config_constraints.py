"""Every config field of forge-core declares its constraint (ranges, non-empty, one-of).

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason. The same check serves the domain plugins (their ``test_config_constraints.py``).
"""

from __future__ import annotations

import attrs
import pytest

from forge.core.config import field
from forge.core.testing import ConformanceError, check_constraints, config_classes, missing_constraints

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


def test_every_field_declares_a_constraint() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {"TrainerConfig", "CheckpointConfig", "FSDPConfig", "AdamWConfig", "LoaderConfig", "PruningConfig"} <= names
    assert "ResolvedSettings" not in names
    check_constraints(CLASSES, UNCONSTRAINED)


@attrs.frozen
class _Loose:
    depth: int = field(3, help="How deep.")
    width: int = field(3, help="How wide.", ge=1)
    flag: bool = field(False, help="Booleans need no constraint.")


def test_a_field_without_a_constraint_is_named() -> None:
    assert missing_constraints(_Loose) == ["_Loose.depth"]
    with pytest.raises(ConformanceError, match=r"_Loose\.depth: declares no constraint"):
        check_constraints([_Loose])
    check_constraints([_Loose], {"_Loose.depth": "any depth"})


@pytest.mark.parametrize(
    ("allowed", "message"),
    [
        ({"_Loose.height": "r"}, r"_Loose\.height: listed as unconstrained but is no field"),
        ({"_Loose.depth": "r", "_Loose.width": "r"}, r"_Loose\.width: declares a constraint now"),
        ({"_Loose.depth": ""}, r"_Loose\.depth: listed as unconstrained without a reason"),
    ],
)
def test_a_stale_allow_list_entry_is_named(allowed: dict[str, str], message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check_constraints([_Loose], allowed)
