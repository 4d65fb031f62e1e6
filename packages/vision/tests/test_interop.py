"""Weight interop: torchvision- and timm-format state dicts into forge models, and weight files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from forge.core.errors import CheckpointError
from forge.vision.models.configs import EfficientNetConfig, MobileNetConfig, ResNetConfig
from forge.vision.models.efficientnet import build_efficientnet
from forge.vision.models.interop import (
    StateDictMismatchError,
    load_state_dict_file,
    load_timm_state_dict,
    load_torchvision_state_dict,
    timm_key_map,
    to_timm_state_dict,
    to_torchvision_state_dict,
)
from forge.vision.models.mobilenet import build_mobilenet
from forge.vision.models.resnet import build_resnet

CONFIGS: dict[str, Any] = {
    "resnet18": ResNetConfig(depth=18),
    "resnet50": ResNetConfig(depth=50, width_multiplier=0.25),
    "efficientnet_b0": EfficientNetConfig(variant="b0"),
    "efficientnet_b1": EfficientNetConfig(variant="b1"),  # depth 1.1: a second, residual, no-expand block
    "mobilenet_v2": MobileNetConfig(variant="v2"),
    "mobilenet_v3_small": MobileNetConfig(variant="v3_small"),
    "mobilenet_v3_large": MobileNetConfig(variant="v3_large"),
}


def build(config: Any, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if isinstance(config, ResNetConfig):
        return build_resnet(config)
    if isinstance(config, EfficientNetConfig):
        return build_efficientnet(config)
    return build_mobilenet(config)


def randomize(model: nn.Module, seed: int) -> nn.Module:
    # Fresh init leaves batch-norm statistics at 0/1; random ones make a wrong mapping visible.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
    return model


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("fmt", ["torchvision", "timm"])
def test_round_trip_through_foreign_names_is_exact(name: str, fmt: str) -> None:
    source = randomize(build(CONFIGS[name], 0), 1)
    target = build(CONFIGS[name], 2)
    if fmt == "timm":
        foreign = to_timm_state_dict(source)
        load_timm_state_dict(target, foreign)
    else:
        foreign = to_torchvision_state_dict(source)
        load_torchvision_state_dict(target, foreign)
    assert len(foreign) == len(source.state_dict())
    assert_same_weights(target, source)


def test_torchvision_resnet_keys_for_known_layers() -> None:
    sd = to_torchvision_state_dict(build_resnet(ResNetConfig(depth=18)))
    known = {
        "conv1.weight": (64, 3, 7, 7),
        "bn1.running_var": (64,),
        "layer1.0.conv2.weight": (64, 64, 3, 3),
        "layer2.0.conv1.weight": (128, 64, 3, 3),
        "layer2.0.downsample.0.weight": (128, 64, 1, 1),
        "layer2.0.downsample.1.bias": (128,),
        "layer4.1.bn2.weight": (512,),
        "fc.weight": (1000, 512),
        "fc.bias": (1000,),
    }
    for key, shape in known.items():
        assert tuple(sd[key].shape) == shape, key
    # V1.5: the stride of a bottleneck sits in its 3x3 conv.
    r50 = build_resnet(ResNetConfig(depth=50))
    assert r50.layer2[0].conv2.stride == (2, 2) and r50.layer2[0].conv1.stride == (1, 1)


def test_timm_keys_for_known_layers() -> None:
    eff = to_timm_state_dict(build_efficientnet(EfficientNetConfig(variant="b0")))
    known = {
        "conv_stem.weight": (32, 3, 3, 3),
        "bn1.num_batches_tracked": (),
        "blocks.0.0.conv_dw.weight": (32, 1, 3, 3),
        "blocks.0.0.se.conv_reduce.weight": (8, 32, 1, 1),
        "blocks.0.0.conv_pw.weight": (16, 32, 1, 1),
        "blocks.1.0.conv_pw.weight": (96, 16, 1, 1),
        "blocks.1.0.se.conv_expand.bias": (96,),
        "blocks.1.0.conv_pwl.weight": (24, 96, 1, 1),
        "blocks.6.0.bn3.running_mean": (320,),
        "conv_head.weight": (1280, 320, 1, 1),
        "bn2.weight": (1280,),
        "classifier.weight": (1000, 1280),
    }
    for key, shape in known.items():
        assert tuple(eff[key].shape) == shape, key
    v3 = build_mobilenet(MobileNetConfig(variant="v3_large"))
    keys = timm_key_map(v3)
    assert keys["features.16.0.weight"] == "blocks.6.0.conv.weight"
    assert keys["features.1.block.0.0.weight"] == "blocks.0.0.conv_dw.weight"
    assert keys["features.4.block.2.fc1.weight"] == "blocks.2.0.se.conv_reduce.weight"
    assert keys["classifier.0.weight"] == "conv_head.weight"
    assert tuple(to_timm_state_dict(v3)["conv_head.weight"].shape) == (1280, 960, 1, 1)
    v2 = timm_key_map(build_mobilenet(MobileNetConfig(variant="v2")))
    assert v2["features.2.conv.2.weight"] == "blocks.1.0.conv_pwl.weight"
    assert v2["features.18.1.running_var"] == "bn2.running_var"


def test_missing_unexpected_and_mismatched_keys_are_named_and_model_untouched() -> None:
    model = build_resnet(ResNetConfig(depth=18, num_classes=10))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    foreign = to_torchvision_state_dict(randomize(build_resnet(ResNetConfig(depth=18)), 3))
    del foreign["layer3.1.conv1.weight"]
    foreign["layer9.weight"] = torch.zeros(1)
    with pytest.raises(StateDictMismatchError) as info:
        load_torchvision_state_dict(model, foreign)
    err = info.value
    assert err.missing == ["layer3.1.conv1.weight"] and err.unexpected == ["layer9.weight"]
    assert {k for k, _, _ in err.mismatched} == {"fc.weight", "fc.bias"}
    message = str(err)
    assert "layer3.1.conv1.weight" in message and "layer9.weight" in message and "exclude_classifier" in message
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_exclude_classifier_keeps_the_models_head() -> None:
    model = build_resnet(ResNetConfig(depth=18, num_classes=10))
    head = model.fc.weight.detach().clone()
    source = randomize(build_resnet(ResNetConfig(depth=18)), 4)
    load_torchvision_state_dict(model, to_torchvision_state_dict(source), exclude_classifier=True)
    assert torch.equal(model.fc.weight, head)
    key = "layer4.1.conv2.weight"
    assert torch.equal(model.get_parameter(key), source.get_parameter(key))


def test_wrapper_prefixes_and_missing_batch_counters_are_accepted() -> None:
    source = randomize(build_mobilenet(MobileNetConfig(variant="v3_small")), 5)
    foreign = {
        f"module._orig_mod.{k}": v for k, v in to_timm_state_dict(source).items() if "num_batches_tracked" not in k
    }
    target = build_mobilenet(MobileNetConfig(variant="v3_small"))
    load_timm_state_dict(target, foreign)
    key = "classifier.0.weight"
    assert torch.equal(target.get_parameter(key), source.get_parameter(key))


def test_preact_resnet_has_no_foreign_counterpart() -> None:
    model = build_resnet(ResNetConfig(depth=18, preact=True))
    with pytest.raises(CheckpointError, match="pre-activation"):
        load_torchvision_state_dict(model, {})
    with pytest.raises(CheckpointError, match="no timm key map for Linear"):
        load_timm_state_dict(nn.Linear(2, 2), {})


def test_load_state_dict_file_formats(tmp_path: Path) -> None:
    sd = {"a.weight": torch.randn(3, 2), "a.bias": torch.arange(3)}
    save_file(sd, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        loaded = load_state_dict_file(tmp_path / name)
        assert loaded.keys() == sd.keys() and all(torch.equal(loaded[k], sd[k]) for k in sd)


def test_load_state_dict_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such weights file"):
        load_state_dict_file(tmp_path / "absent.pt")
    (tmp_path / "w.npz").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="unknown weights format"):
        load_state_dict_file(tmp_path / "w.npz")
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_state_dict_file(tmp_path / "bad.safetensors")
    torch.save({"w": torch.zeros(1), "step": 3}, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError, match="'step'"):
        load_state_dict_file(tmp_path / "mixed.pt")


def _max_rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out - ref).abs().max() / ref.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize(
    ("fmt", "name", "config"),
    [
        ("torchvision", "resnet18", ResNetConfig(depth=18)),
        ("torchvision", "mobilenet_v3_small", MobileNetConfig(variant="v3_small")),
        ("timm", "mobilenetv3_small_100", MobileNetConfig(variant="v3_small", norm_eps=1e-5)),
        ("timm", "efficientnet_b0", EfficientNetConfig(variant="b0")),
    ],
)
def test_outputs_match_reference_implementation(fmt: str, name: str, config: Any) -> None:
    if fmt == "torchvision":
        tv = pytest.importorskip(
            "torchvision", reason="torchvision is not installed; the reference check runs where it is (H200 machine)"
        )
        reference = getattr(tv.models, name)()
    else:
        timm = pytest.importorskip(
            "timm", reason="timm is not installed; the reference check runs where it is (H200 machine)"
        )
        reference = timm.create_model(name, pretrained=False)
    reference = randomize_bn(reference.eval())
    model = build(config, 0).eval()
    loader = load_torchvision_state_dict if fmt == "torchvision" else load_timm_state_dict
    loader(model, reference.state_dict())
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert _max_rel_err(model(x), reference(x)) <= 1e-5


def randomize_bn(model: nn.Module) -> nn.Module:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    return model
