"""Load torchvision- and timm-format state dicts into forge's CNNs (and write them back out).

forge's ResNet, EfficientNet and MobileNet use torchvision's module names, so a torchvision state
dict maps by identity; timm's names (``conv_stem``, ``bn1``, ``blocks.{stage}.{block}.conv_pw``,
``conv_head``, ``classifier``) map through a key map derived from the model's own structure.
Users bring pretrained weights as files; nothing is downloaded::

    model = build_resnet(ResNetConfig(depth=50))
    load_torchvision_state_dict(model, load_state_dict_file("resnet50-11ad3fa6.pth"))

Every mismatch (missing key, unexpected key, shape) raises :class:`StateDictMismatchError`
naming the keys, before anything in the model is changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from forge.core.errors import CheckpointError
from forge.vision.models.efficientnet import EfficientNet
from forge.vision.models.layers import MBConv
from forge.vision.models.mobilenet import InvertedResidualV2, MobileNetV2, MobileNetV3
from forge.vision.models.resnet import ResNet

__all__ = [
    "StateDictMismatchError",
    "load_state_dict_file",
    "load_timm_state_dict",
    "load_torchvision_state_dict",
    "timm_key_map",
    "to_timm_state_dict",
    "to_torchvision_state_dict",
    "torchvision_key_map",
]

# Wrappers that prefix every key: DistributedDataParallel and torch.compile's OptimizedModule.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
_NESTED_KEYS = ("state_dict", "model", "model_state_dict")
_SHOWN = 8


class StateDictMismatchError(CheckpointError):
    """A foreign state dict does not fit a forge model.

    Attributes:
        missing: Foreign-format keys the model needs but the state dict lacks.
        unexpected: Keys in the state dict the model has no place for.
        mismatched: ``(foreign key, checkpoint shape, model shape)`` for each shape conflict.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched


def _check_supported(model: nn.Module, fmt: str) -> None:
    if not isinstance(model, (ResNet, EfficientNet, MobileNetV2, MobileNetV3)):
        raise CheckpointError(
            f"no {fmt} key map for {type(model).__name__}; supported: ResNet, EfficientNet, MobileNetV2, MobileNetV3"
        )
    if isinstance(model, ResNet) and model.config.preact:
        raise CheckpointError(
            f"a pre-activation ResNet has no {fmt} counterpart with the same layout; "
            "load forge checkpoints into it, or use preact=False for torchvision/timm weights"
        )


def torchvision_key_map(model: nn.Module) -> dict[str, str]:
    """Map each forge state-dict key of ``model`` to its torchvision name.

    forge lays its models out as torchvision does, so the map is the identity; it exists so both
    formats go through the same checks.

    Raises:
        CheckpointError: the model has no torchvision counterpart (e.g. a pre-activation ResNet).
    """
    _check_supported(model, "torchvision")
    return {k: k for k in model.state_dict()}


def _put(out: dict[str, str], module: nn.Module, forge_prefix: str, timm_prefix: str) -> None:
    for key in module.state_dict():
        out[f"{forge_prefix}.{key}"] = f"{timm_prefix}.{key}"


def _map_mbconv(out: dict[str, str], block: MBConv, forge_prefix: str, timm_prefix: str) -> None:
    """Map an MBConv / MobileNetV3 block (``block`` Sequential with ``layer_roles``) to timm's names."""
    roles = block.layer_roles
    # timm names a block without an expansion conv "DepthwiseSeparableConv" (conv_dw, bn1, conv_pw,
    # bn2) and one with it "InvertedResidual" (conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3).
    if "expand" in roles:
        names = {"expand": ("conv_pw", "bn1"), "depthwise": ("conv_dw", "bn2"), "project": ("conv_pwl", "bn3")}
    else:
        names = {"depthwise": ("conv_dw", "bn1"), "project": ("conv_pw", "bn2")}
    for i, role in enumerate(roles):
        child = block.block[i]
        here = f"{forge_prefix}.block.{i}"
        if role == "se":
            _put(out, child.get_submodule("fc1"), f"{here}.fc1", f"{timm_prefix}.se.conv_reduce")
            _put(out, child.get_submodule("fc2"), f"{here}.fc2", f"{timm_prefix}.se.conv_expand")
        else:
            conv, norm = names[role]
            _put(out, child.get_submodule("0"), f"{here}.0", f"{timm_prefix}.{conv}")
            _put(out, child.get_submodule("1"), f"{here}.1", f"{timm_prefix}.{norm}")


def _map_v2_block(out: dict[str, str], block: InvertedResidualV2, forge_prefix: str, timm_prefix: str) -> None:
    conv = block.conv
    p, t = f"{forge_prefix}.conv", timm_prefix
    if block.has_expand:
        pairs = [
            ("0.0", "conv_pw"),
            ("0.1", "bn1"),
            ("1.0", "conv_dw"),
            ("1.1", "bn2"),
            ("2", "conv_pwl"),
            ("3", "bn3"),
        ]
    else:
        pairs = [("0.0", "conv_dw"), ("0.1", "bn1"), ("1", "conv_pw"), ("2", "bn2")]
    for path, name in pairs:
        _put(out, conv.get_submodule(path), f"{p}.{path}", f"{t}.{name}")


def timm_key_map(model: nn.Module) -> dict[str, str]:
    """Map each forge state-dict key of ``model`` to its timm name.

    The timm counterparts are ``resnet{18,34,50,101,152}``, ``efficientnet_b{0..7}``,
    ``mobilenetv2_100`` and ``mobilenetv3_{large,small}_100`` (and their width variants).

    Raises:
        CheckpointError: the model has no timm counterpart (e.g. a pre-activation ResNet).
    """
    _check_supported(model, "timm")
    out: dict[str, str] = {}
    if isinstance(model, ResNet):
        return {k: k for k in model.state_dict()}  # timm's ResNet keeps torchvision's names
    features = model.get_submodule("features")
    if not isinstance(features, nn.Sequential):
        raise CheckpointError(f"{type(model).__name__}.features is not a Sequential; was the model modified?")
    _put(out, features.get_submodule("0.0"), "features.0.0", "conv_stem")
    _put(out, features.get_submodule("0.1"), "features.0.1", "bn1")
    last = len(features) - 1
    if isinstance(model, EfficientNet):
        for s in range(1, last):
            for j, block in enumerate(features.get_submodule(str(s)).children()):
                if not isinstance(block, MBConv):
                    raise CheckpointError(f"features.{s}.{j} of {type(model).__name__} is not an MBConv block")
                _map_mbconv(out, block, f"features.{s}.{j}", f"blocks.{s - 1}.{j}")
        _put(out, features.get_submodule(f"{last}.0"), f"features.{last}.0", "conv_head")
        _put(out, features.get_submodule(f"{last}.1"), f"features.{last}.1", "bn2")
        _put(out, model.classifier.get_submodule("1"), "classifier.1", "classifier")
        return out
    assert isinstance(model, (MobileNetV2, MobileNetV3))  # narrowed by _check_supported
    index = 1
    for s, size in enumerate(model.stage_sizes):
        for j in range(size):
            block = features[index]
            if isinstance(block, InvertedResidualV2):
                _map_v2_block(out, block, f"features.{index}", f"blocks.{s}.{j}")
            elif isinstance(block, MBConv):
                _map_mbconv(out, block, f"features.{index}", f"blocks.{s}.{j}")
            index += 1
    if isinstance(model, MobileNetV2):
        _put(out, features.get_submodule(f"{last}.0"), f"features.{last}.0", "conv_head")
        _put(out, features.get_submodule(f"{last}.1"), f"features.{last}.1", "bn2")
        _put(out, model.classifier.get_submodule("1"), "classifier.1", "classifier")
    else:
        # timm makes V3's last 1x1 conv a one-block stage and its hidden classifier layer a
        # biased 1x1 conv ("conv_head") applied after pooling.
        stage = len(model.stage_sizes)
        _put(out, features.get_submodule(f"{last}.0"), f"features.{last}.0", f"blocks.{stage}.0.conv")
        _put(out, features.get_submodule(f"{last}.1"), f"features.{last}.1", f"blocks.{stage}.0.bn1")
        _put(out, model.classifier.get_submodule("0"), "classifier.0", "conv_head")
        _put(out, model.classifier.get_submodule("3"), "classifier.3", "classifier")
    return out


def _strip_wrappers(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = dict(state_dict)
    changed = True
    while changed and out:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in out):
                out = {k[len(prefix) :]: v for k, v in out.items()}
                changed = True
    return out


def _strip_trailing_ones(shape: Iterable[int]) -> tuple[int, ...]:
    dims = list(shape)
    while dims and dims[-1] == 1:
        dims.pop()
    return tuple(dims)


def _fmt(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f", ... ({len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else "")


def _load(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    key_map: dict[str, str],
    *,
    fmt: str,
    exclude_classifier: bool,
) -> None:
    source = _strip_wrappers(state_dict)
    inverse = {foreign: mine for mine, foreign in key_map.items()}
    target = model.state_dict()
    head: str = getattr(model, "classifier_prefix", "\0")
    converted: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for foreign, tensor in source.items():
        mine = inverse.get(foreign)
        if mine is None:
            unexpected.append(foreign)
            continue
        if exclude_classifier and mine.startswith(head):
            continue
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{fmt} state dict: value of {foreign!r} is a {type(tensor).__name__}, not a tensor")
        want = target[mine].shape
        if tensor.shape != want:
            # A linear layer stored as a 1x1 conv (or back) differs only by trailing unit dims.
            if tensor.numel() == target[mine].numel() and _strip_trailing_ones(tensor.shape) == _strip_trailing_ones(
                want
            ):
                tensor = tensor.reshape(want)
            else:
                mismatched.append((foreign, tuple(tensor.shape), tuple(want)))
                continue
        converted[mine] = tensor
    missing = [
        key_map[k]
        for k in target
        if k not in converted
        and not (exclude_classifier and k.startswith(head))
        # Checkpoints written before num_batches_tracked existed lack it; it only matters for
        # momentum=None batch norm, and the model's own counter is kept.
        and not k.endswith("num_batches_tracked")
        and not any(key_map[k] == m[0] for m in mismatched)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_fmt(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_fmt(unexpected)}")
        if mismatched:
            shown = "; ".join(f"{k}: checkpoint {tuple(a)} vs model {tuple(b)}" for k, a, b in mismatched[:_SHOWN])
            parts.append(f"{len(mismatched)} shape mismatch(es): {shown}")
        hint = ""
        if any(inverse.get(k, "").startswith(head) for k, _, _ in mismatched):
            hint = (
                " (to keep the model's own classifier, e.g. for a different num_classes, pass exclude_classifier=True)"
            )
        raise StateDictMismatchError(
            f"cannot load the {fmt} state dict into {type(model).__name__}: " + "; ".join(parts) + hint,
            missing=missing,
            unexpected=unexpected,
            mismatched=mismatched,
        )
    model.load_state_dict(converted, strict=False)


def load_torchvision_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], *, exclude_classifier: bool = False
) -> None:
    """Copy a torchvision-format state dict into a forge model, in place.

    Args:
        model: A forge ResNet (post-activation), EfficientNet or MobileNet.
        state_dict: E.g. ``torchvision.models.resnet50().state_dict()`` or a file read by
            :func:`load_state_dict_file`; ``module.`` and ``_orig_mod.`` prefixes are removed.
        exclude_classifier: Leave the model's classification layer as it is (for fine-tuning
            with a different ``num_classes``); the checkpoint's classifier keys are ignored.

    Raises:
        StateDictMismatchError: keys are missing or unexpected, or shapes differ (all named);
            the model is unchanged then.
        CheckpointError: the model has no torchvision counterpart, or a value is not a tensor.
    """
    _load(model, state_dict, torchvision_key_map(model), fmt="torchvision", exclude_classifier=exclude_classifier)


def load_timm_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], *, exclude_classifier: bool = False
) -> None:
    """Copy a timm-format state dict into a forge model, in place.

    Args:
        model: A forge ResNet (post-activation), EfficientNet or MobileNet.
        state_dict: E.g. ``timm.create_model("efficientnet_b0").state_dict()``; wrapper prefixes
            are removed.
        exclude_classifier: Leave the model's classification layer as it is.

    Raises:
        StateDictMismatchError: keys are missing or unexpected, or shapes differ (all named);
            the model is unchanged then.
        CheckpointError: the model has no timm counterpart, or a value is not a tensor.
    """
    _load(model, state_dict, timm_key_map(model), fmt="timm", exclude_classifier=exclude_classifier)


def _export(
    model: nn.Module, key_map: dict[str, str], conv_keys: frozenset[str] = frozenset()
) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, tensor in model.state_dict().items():
        value = tensor.detach().clone()
        if key in conv_keys:
            value = value[..., None, None]
        out[key_map[key]] = value
    return out


def to_torchvision_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return ``model``'s weights as a torchvision-format state dict (copies).

    Raises:
        CheckpointError: the model has no torchvision counterpart.
    """
    return _export(model, torchvision_key_map(model))


def to_timm_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return ``model``'s weights as a timm-format state dict (copies).

    Raises:
        CheckpointError: the model has no timm counterpart.
    """
    conv_keys = frozenset({"classifier.0.weight"}) if isinstance(model, MobileNetV3) else frozenset()
    return _export(model, timm_key_map(model), conv_keys)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.safetensors`` file or a ``.pt``/``.pth``/``.bin``/``.ckpt`` file.

    Torch files are read with ``torch.load(weights_only=True)``, which refuses arbitrary pickled
    objects. A checkpoint that nests its weights under ``state_dict``, ``model`` or
    ``model_state_dict`` is unwrapped.

    Args:
        path: The file.

    Returns:
        Key -> tensor, on the CPU.

    Raises:
        CheckpointError: the file is missing, has an unknown suffix, cannot be read safely, or
            holds something other than a mapping of tensors (the offending key is named).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such weights file")
    suffix = p.suffix.lower()
    data: object
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            data = load_file(str(p), device="cpu")
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{p}: not a readable safetensors file ({exc})") from None
    elif suffix in _TORCH_SUFFIXES:
        try:
            data = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError, RuntimeError or EOFError for bad files
            raise CheckpointError(
                f"{p}: cannot be read as a weights-only torch file ({type(exc).__name__}: {exc})"
            ) from None
    else:
        raise CheckpointError(
            f"{p}: unknown weights format {p.suffix!r}; use .safetensors, {', '.join(_TORCH_SUFFIXES)}"
        )
    if isinstance(data, Mapping) and not all(isinstance(v, torch.Tensor) for v in data.values()):
        for nested in _NESTED_KEYS:
            if isinstance(data.get(nested), Mapping):
                data = data[nested]
                break
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{p}: expected a mapping of tensors, got {type(data).__name__}")
    out: dict[str, torch.Tensor] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{p}: entry {key!r} is a {type(value).__name__}, not a tensor")
        out[key] = value
    return out
