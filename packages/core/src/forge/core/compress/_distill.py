"""Knowledge distillation through the trainer: a student beside a frozen teacher, and the KD loss.

:class:`DistillationModel` is what the trainer trains. In training mode its forward returns the
student's and the teacher's logits as a pair, for :class:`KDLoss`; in eval mode it returns the
student's logits alone, so validation metrics, evaluation and export see an ordinary model. The
teacher is held outside the module tree (no parameters, no state-dict keys), and the state dict is
the student's own: a checkpoint of a distillation run loads straight into the bare student.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from forge.core.compress._configs import DistillConfig, KDLossConfig
from forge.core.errors import ConfigError

__all__ = ["DistillationModel", "KDLoss", "build_distill_model", "build_kd_loss", "example_input"]

_PREFIX = "student."


def _strip(module: nn.Module, state: dict[str, Any], prefix: str, local_metadata: Any) -> None:
    for key in [k for k in state if k.startswith(prefix + _PREFIX)]:
        state[prefix + key[len(prefix) + len(_PREFIX) :]] = state.pop(key)


def _add(state: dict[str, Any], prefix: str, *args: Any) -> None:
    for key in [k for k in state if k.startswith(prefix) and not k.startswith(prefix + _PREFIX)]:
        state[prefix + _PREFIX + key[len(prefix) :]] = state.pop(key)


class DistillationModel(nn.Module):
    """A student trained against a frozen teacher.

    Args:
        student: The model being trained.
        teacher: The teacher; put in eval mode, frozen and kept out of the state dict.
    """

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        super().__init__()
        self.student = student
        object.__setattr__(self, "teacher", teacher.eval().requires_grad_(False))
        self._register_state_dict_hook(_strip)  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        self._register_load_state_dict_pre_hook(_add)  # type: ignore[no-untyped-call]

    teacher: nn.Module

    def forward(self, *args: Any) -> Any:
        """Student logits in eval mode; ``(student, teacher)`` logits in training mode."""
        out = self.student(*args)
        if not self.training:
            return out
        device = args[0].device if args and isinstance(args[0], torch.Tensor) else None
        if device is not None and next(self.teacher.parameters(), torch.empty(0)).device != device:
            self.teacher.to(device)
        with torch.no_grad():
            target = self.teacher(*args)
        return out, target.detach()


class KDLoss(nn.Module):
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``.

    Takes the ``(student, teacher)`` pair a :class:`DistillationModel` returns in training mode;
    given plain logits (evaluation), it is the cross-entropy with the labels.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = temperature
        self.alpha = alpha

    def forward(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        """The loss of a batch."""
        if not isinstance(output, (tuple, list)):
            return F.cross_entropy(output, target)
        student, teacher = output
        t = self.temperature
        log_s, log_t = F.log_softmax(student / t, dim=-1), F.log_softmax(teacher / t, dim=-1)
        soft = F.kl_div(log_s, log_t, reduction="batchmean", log_target=True)
        return self.alpha * t * t * soft + (1.0 - self.alpha) * F.cross_entropy(student, target)


def build_kd_loss(config: KDLossConfig) -> KDLoss:
    """Builder of the ``core.kd`` loss."""
    return KDLoss(config.temperature, config.alpha)


def _student(config: DistillConfig) -> nn.Module:
    from forge.core._registry import registry

    section: Mapping[str, Any] = dict(config.student)
    if "name" not in section:
        raise ConfigError("model.student: needs name = '<registered model>' (e.g. vision.mobilenet_v3_small)")
    fields = {k: v for k, v in section.items() if k != "name"}
    if config.num_classes is not None:
        fields.setdefault("num_classes", config.num_classes)
    model: nn.Module = registry.build("model", str(section["name"]), **fields)
    return model


def build_distill_model(config: DistillConfig) -> DistillationModel:
    """Builder of the ``core.distill`` model: the student from its section, the teacher from its run."""
    from forge.core._runner import load_model

    return DistillationModel(_student(config), load_model(config.teacher_run, config.teacher_which))


def example_input(config: DistillConfig) -> Any:
    """The student's registered example input."""
    from forge.core._plugins import import_object
    from forge.core._registry import registry

    spec = registry.get("model", str(config.student["name"]))
    if spec.example is None:
        raise ConfigError(f"model.student: {spec.name} registers no example input")
    student_config = registry.make_config("model", spec.name, {k: v for k, v in config.student.items() if k != "name"})
    return import_object(spec.example, what=f"example of {spec.name}")(student_config)
