"""Metrics: built from config, computed on accumulated state (not per-batch means), synced across ranks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    roc_auc_score,
)

from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.metrics import _builders as B
from forge.core.metrics._catalog import register_metrics
from forge.core.metrics._configs import (
    AccuracyConfig,
    AUROCConfig,
    AveragePrecisionConfig,
    CalibrationErrorConfig,
    F1Config,
    MAEConfig,
    MSEConfig,
    PerplexityConfig,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def uneven_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    # A batch of 2 that is all right and a batch of 8 that is mostly wrong.
    g = torch.Generator().manual_seed(0)
    y1 = torch.tensor([0, 1])
    p1 = torch.nn.functional.one_hot(y1, 3).float() * 5
    y2 = torch.randint(0, 3, (8,), generator=g)
    p2 = torch.randn(8, 3, generator=g)
    return [(p1, y1), (p2, y2)]


def test_accuracy_accumulates_instead_of_averaging_batches() -> None:
    batches = uneven_batches()
    metric = B.build_accuracy(AccuracyConfig(task="multiclass", num_classes=3))
    per_batch = []
    for preds, target in batches:
        per_batch.append(float(metric.forward(preds, target)))
    accumulated = float(metric.compute())
    pred_ids = torch.cat([p for p, _ in batches]).argmax(1).numpy()
    labels = torch.cat([t for _, t in batches]).numpy()
    assert accumulated == pytest.approx(accuracy_score(labels, pred_ids))
    assert accumulated != pytest.approx(float(np.mean(per_batch)))


def test_f1_auroc_ap_equal_sklearn_on_uneven_batches() -> None:
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(23, generator=g)
    target = (torch.rand(23, generator=g) < scores).long()
    chunks = [slice(0, 3), slice(3, 20), slice(20, 23)]
    f1 = B.build_f1(F1Config(task="binary"))
    auroc = B.build_auroc(AUROCConfig(task="binary"))
    ap = B.build_average_precision(AveragePrecisionConfig(task="binary"))
    for c in chunks:
        for m in (f1, auroc, ap):
            m.update(scores[c], target[c])
    y, s = target.numpy(), scores.numpy()
    assert float(f1.compute()) == pytest.approx(f1_score(y, s > 0.5))
    assert float(auroc.compute()) == pytest.approx(roc_auc_score(y, s))
    assert float(ap.compute()) == pytest.approx(average_precision_score(y, s))


def test_multiclass_macro_f1_equals_sklearn() -> None:
    batches = uneven_batches()
    metric = B.build_f1(F1Config(task="multiclass", num_classes=3, average="macro"))
    for p, t in batches:
        metric.update(p, t)
    pred_ids = torch.cat([p for p, _ in batches]).argmax(1).numpy()
    labels = torch.cat([t for _, t in batches]).numpy()
    assert float(metric.compute()) == pytest.approx(f1_score(labels, pred_ids, average="macro", labels=[0, 1, 2]))


def test_regression_metrics_equal_sklearn() -> None:
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(11, generator=g), torch.randn(11, generator=g)
    mse, rmse, mae = B.build_mse(MSEConfig()), B.build_mse(MSEConfig(squared=False)), B.build_mae(MAEConfig())
    for c in (slice(0, 1), slice(1, 11)):
        for m in (mse, rmse, mae):
            m.update(a[c], b[c])
    assert float(mse.compute()) == pytest.approx(mean_squared_error(b.numpy(), a.numpy()), rel=1e-5)
    assert float(rmse.compute()) == pytest.approx(mean_squared_error(b.numpy(), a.numpy()) ** 0.5, rel=1e-5)
    assert float(mae.compute()) == pytest.approx(mean_absolute_error(b.numpy(), a.numpy()), rel=1e-5)


def test_calibration_error_and_perplexity() -> None:
    # Perfectly confident and right: calibration error 0.
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ece = B.build_calibration_error(CalibrationErrorConfig(task="multiclass", num_classes=2))
    ece.update(probs, torch.tensor([0, 1]))
    assert float(ece.compute()) == pytest.approx(0.0)
    logits = torch.zeros(2, 3, 5)  # uniform over 5 tokens: perplexity 5
    ppl = B.build_perplexity(structure({"ignore_index": -100}, PerplexityConfig))
    ppl.update(logits, torch.tensor([[1, 2, -100], [0, 4, 3]]))
    assert float(ppl.compute()) == pytest.approx(5.0, rel=1e-5)


def test_config_requires_num_classes_for_multiclass() -> None:
    with pytest.raises(ConfigError, match="num_classes"):
        structure({"task": "multiclass"}, AccuracyConfig)
    with pytest.raises(ConfigError, match="num_labels"):
        structure({"task": "multilabel"}, F1Config)


def test_catalog_names_and_light_import() -> None:
    names: list[str] = []
    register_metrics(lambda name, **kw: names.append(name))
    assert names == ["accuracy", "f1", "auroc", "average_precision", "calibration_error", "mse", "mae", "perplexity"]
    code = "import sys, forge.core.metrics._catalog, forge.core.metrics._configs; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


_DIST_CHILD = """
import sys
sys.path.insert(0, {src!r})
import torch, torch.distributed as dist
from forge.core.metrics._builders import build_accuracy
from forge.core.metrics._configs import AccuracyConfig
rank, port = int(sys.argv[1]), sys.argv[2]
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{{port}}", rank=rank, world_size=2)
metric = build_accuracy(AccuracyConfig(task="binary"))
# Rank 0: 1 sample, right. Rank 1: 3 samples, all wrong. Global accuracy 1/4; mean of ranks 1/2.
if rank == 0:
    metric.update(torch.tensor([0.9]), torch.tensor([1]))
else:
    metric.update(torch.tensor([0.9, 0.9, 0.1]), torch.tensor([0, 0, 1]))
print(f"{{float(metric.compute()):.6f}}")
dist.destroy_process_group()
"""


def test_compute_syncs_accumulated_state_across_processes() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = _DIST_CHILD.format(src=str(SRC))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(r), str(port)], stdout=subprocess.PIPE, env=env)
        for r in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode().strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert [float(o) for o in outputs] == [0.25, 0.25]
