#!/usr/bin/env bash
# The README's main job, on bundled data only (scikit-learn's copy of the 8x8 digits):
# show what is installed, train a small ResNet, evaluate it with a confidence interval, and
# write a saliency overlay a person can look at.
set -euo pipefail
run="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
forge --version
forge plugins
forge list models --tag image-classification
forge train vision/digits --run-dir "$run" --overwrite  # a rerun within the same second replaces its run
forge eval "$run"
python -c "
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
d = load_digits()
Image.fromarray((d.images[-1] * 255 / 16).astype(np.uint8)).save('$run/digit.png')
print('digit.png shows a', d.target[-1])
"
forge explain "$run" "$run/digit.png" --out "$run/digit-integrated_gradients.png"
echo "run directory: $run"
