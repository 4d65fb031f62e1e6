"""Test settings: one intra-op thread (the suite runs on small graphs, where threads only add overhead)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
