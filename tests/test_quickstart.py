"""The README's main job end to end: train vision/digits, evaluate it, explain one prediction.

This is the issue's acceptance check for the digits recipe (at least 97% test accuracy on a CPU),
run through the installed ``forge`` command exactly as a user runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def _forge(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from forge.core.cli import main; main()", "-q", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_digits_trains_to_97_percent_evaluates_and_explains(tmp_path: Path) -> None:
    run = tmp_path / "digits"
    _forge("train", "vision/digits", "--run-dir", str(run))
    report = json.loads(_forge("eval", str(run)))
    assert report["samples"] == 359
    assert report["accuracy"] >= 0.97, report
    low, high = report["accuracy_ci"]
    assert low < report["accuracy"] < high

    from sklearn.datasets import load_digits

    digits = load_digits()
    image = tmp_path / "digit.png"
    Image.fromarray((digits.images[-1] * 255 / 16).astype(np.uint8)).save(image)
    out = tmp_path / "overlay.png"
    _forge("explain", str(run), str(image), "--out", str(out))
    overlay = Image.open(out)
    assert overlay.size[0] > overlay.size[1] >= 224  # image and heatmap side by side, enlarged
    colours = {tuple(px) for px in np.asarray(overlay.convert("RGB")).reshape(-1, 3).tolist()}
    assert len(colours) > 4  # a heatmap, not a blank image
