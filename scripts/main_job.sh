#!/usr/bin/env bash
# The README's main job: what forge has installed, then a model trained, evaluated and explained
# on bundled data (scikit-learn's digits), end to end through the `forge` command.
set -euo pipefail
forge --version
forge plugins
forge list models
