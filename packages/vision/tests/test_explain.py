"""Saliency API (Captum underneath), overlay rendering and the explain command's wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from forge.core.errors import ConfigError, DataError
from forge.vision.explain import METHODS, explain, render_overlay


def _cnn(in_chans: int = 3, classes: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(in_chans, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, classes),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integrated_gradients_completeness_within_one_percent_at_64_steps(seed: int) -> None:
    model = _cnn().eval()
    x = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(seed))
    attr = explain(model, x, target=2, method="integrated_gradients", n_steps=64)
    with torch.no_grad():
        delta = float(model(x[None])[0, 2] - model(torch.zeros(1, 3, 12, 12))[0, 2])
    assert attr.shape == x.shape
    assert abs(float(attr.sum()) - delta) <= 0.01 * abs(delta)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_input_shaped_attributions_for_batches(method: str) -> None:
    model = _cnn()
    model.train()
    x = torch.rand(2, 3, 10, 10)
    opts = {"seed": 0, "samples": 4} if method == "smoothgrad" else {}
    attr = explain(model, x, target=torch.tensor([0, 1]), method=method, **opts)
    expected = (2, 1, 10, 10) if method == "grad_cam" else (2, 3, 10, 10)
    assert attr.shape == expected and torch.isfinite(attr).all() and attr.abs().sum() > 0
    assert model.training  # the caller's mode is restored


def test_gradients_equal_autograd_input_gradient() -> None:
    model = _cnn().eval()
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    model(x)[0, 1].backward()
    attr = explain(model, x.detach(), target=1, method="gradients", abs=False)
    assert x.grad is not None and torch.allclose(attr, x.grad)


def test_smoothgrad_seed_makes_it_reproducible() -> None:
    model, x = _cnn(), torch.rand(3, 8, 8)
    a = explain(model, x, 0, method="smoothgrad", seed=3, samples=4)
    b = explain(model, x, 0, method="smoothgrad", seed=3, samples=4)
    assert torch.equal(a, b)


def test_unknown_method_option_or_bad_input_raise() -> None:
    model = _cnn()
    with pytest.raises(ConfigError, match="method"):
        explain(model, torch.rand(3, 8, 8), 0, method="lime")
    with pytest.raises(ConfigError, match="n_stepz"):
        explain(model, torch.rand(3, 8, 8), 0, method="integrated_gradients", n_stepz=3)
    with pytest.raises(DataError):
        explain(model, torch.rand(8, 8), 0)
    with pytest.raises(ConfigError, match="no Conv2d"):
        explain(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), torch.rand(3, 2, 2), 0, method="grad_cam")


def test_render_overlay_writes_a_png_with_heat_where_attribution_is(tmp_path: Path) -> None:
    image = torch.full((1, 8, 8), 0.5)
    attr = torch.zeros(1, 8, 8)
    attr[0, :4, :4] = 1.0
    out = render_overlay(image, attr, tmp_path / "o.png", side_by_side=False, min_size=8)
    assert (tmp_path / "o.png").exists()
    loaded = Image.open(tmp_path / "o.png")
    assert loaded.size == (8, 8) and out.mode == "RGB"
    pixels = loaded.convert("RGB").load()
    assert pixels is not None
    hot, cold = tuple(pixels[1, 1]), tuple(pixels[6, 6])  # type: ignore[arg-type]  # RGB pixels are tuples
    assert hot != cold  # jet: high attribution is red, zero is blue
    assert hot[0] > hot[2] and cold[2] > cold[0]
    big = render_overlay(image, attr)
    assert min(big.size) >= 224 and big.width > big.height  # enlarged, image beside overlay
    with pytest.raises(DataError, match="size"):
        render_overlay(image, torch.zeros(4, 4))


def test_explain_command_is_registered_and_shows_help() -> None:
    from click.testing import CliRunner

    from forge.vision.explain.command import explain_command
    from forge.vision.plugin import forge_register_commands

    seen: list[Any] = []

    def register(command: Any) -> None:
        seen.append(command)

    forge_register_commands(register)
    assert seen == [explain_command]
    result = CliRunner().invoke(explain_command, ["--help"])
    assert result.exit_code == 0 and "RUN_DIR" in result.output and "--method" in result.output


def _fake_run(root: Path, recipe: str, overrides: list[str], extra: dict[str, Any]) -> Path:
    """A run directory holding a recipe's config, a lineage record and an untrained checkpoint."""
    import json

    from forge.core import load_recipe
    from forge.core._checkpoint import CheckpointManager
    from forge.core._run import RunDir

    resolved = load_recipe(recipe, overrides).with_num_classes(extra.get("num_classes")).resolve()
    run = RunDir(root)
    run.write_config(resolved.to_dict())
    (root / "lineage.json").write_text(json.dumps({"dataset": {"extra": extra}}), encoding="utf-8")
    torch.manual_seed(0)
    model = resolved.model.build()
    CheckpointManager(root / "checkpoints").save(1, {"model": model.state_dict()}, {"trainer": {"global_step": 1}})
    return root


def _digit_png(path: Path) -> Path:
    from sklearn.datasets import load_digits

    Image.fromarray((load_digits().images[3] * 255 / 16).astype("uint8")).save(path)
    return path


def test_explain_png_has_a_title_with_class_and_probability_and_a_colour_bar(tmp_path: Path) -> None:
    import warnings

    from forge.vision.explain import explain_run_image

    extra = {"classes": [f"digit-{i}" for i in range(10)], "image_size": [8, 8], "channels": 1, "num_classes": 10}
    run = _fake_run(tmp_path / "run", "vision/digits", ["model.width_multiplier=0.25"], extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning reaching the caller fails the test
        done = explain_run_image(run, _digit_png(tmp_path / "d.png"), out=tmp_path / "x.png", which="last")
    assert done.class_name == f"digit-{done.target}" and 0.0 < done.probability < 1.0
    image = Image.open(done.path).convert("RGB")
    plain = render_overlay(torch.zeros(1, 8, 8), torch.zeros(8, 8))  # the panels alone
    assert image.width == plain.width and image.height > plain.height + 40  # a title band and a colour bar
    pixels = torch.from_numpy(np.asarray(image).astype("int64"))
    extra = image.height - plain.height  # a title band (2/5) above the panels, a colour bar band (3/5) below
    assert (pixels[: extra * 2 // 5].sum(-1) < 200).any()  # dark text on the white band above the panels
    band = pixels[-(extra * 3 // 5) :, image.width // 6 + 2 : image.width - image.width // 6 - 2]
    bar = max(band, key=lambda row: len({tuple(p) for p in row.tolist()}))  # the row through the colour bar
    assert (bar[0] - bar[-1]).abs().sum() > 200 and len({tuple(p) for p in bar.tolist()}) > 20  # the colormap


def test_explain_command_says_clearly_when_the_model_cannot_be_explained(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from forge.vision.explain.command import explain_command

    run = _fake_run(tmp_path / "mlp", "core/mlp", [], {"num_classes": 4})
    image = _digit_png(tmp_path / "d.png")
    result = CliRunner().invoke(explain_command, [str(run), str(image), "--which", "last"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot explain the model of {run} (core.mlp): it does not take this image as input" in result.output
    assert "forge explain explains image classifiers" in result.output


@pytest.mark.parametrize("method", METHODS)
def test_captum_warnings_do_not_reach_the_caller(method: str) -> None:
    import warnings

    model, image = _cnn(), torch.rand(3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning reaching the caller fails the test
        explain(model, image, target=1, method=method)
