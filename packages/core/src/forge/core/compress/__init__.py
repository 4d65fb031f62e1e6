"""Model compression: int8 quantization (torchao), pruning with a sparsity schedule, distillation.

- Post-training quantization: :func:`quantize_dynamic` (int8 weights and dynamically quantized
  activations for linear layers: torchao's PT2E flow in dynamic mode, or torchao's ``quantize_``)
  and :func:`quantize_static` (int8 through the PT2E flow with a calibration set, lowered by
  Inductor on x86). :func:`compile_quantized` compiles either with Inductor's freezing, which
  the oneDNN int8 kernels need (without it the int8 graph can be slower than fp32).
- Pruning through the trainer: the ``core.pruning`` callback zeroes the smallest weights
  (unstructured) or whole output channels (structured) on a cubic sparsity schedule while the
  model fine-tunes; the weights hold the zeros, so the pruning is permanent in every checkpoint.
- Quantization-aware training through the trainer: the ``core.qat`` callback fake-quantizes the
  linear layers (int8 activations per token, int8 weights per channel) while the model fine-tunes;
  :func:`convert_qat` turns the trained model into the real int8 model (:func:`prepare_qat` is
  the in-place fake-quantization step, for a training loop of your own).
- Knowledge distillation through the trainer: the ``core.distill`` model wraps a student and a
  frozen teacher run, and the ``core.kd`` loss mixes the softened teacher targets with the labels.
- :func:`compress_run` (``forge compress RUN_DIR --method M``) writes a new run directory whose
  ``compress.json`` records the method, the figures before and after, and the lineage to its parent.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.compress._distill import DistillationModel as DistillationModel
    from forge.core.compress._distill import KDLoss as KDLoss
    from forge.core.compress._prune import PruningCallback as PruningCallback
    from forge.core.compress._prune import cubic_sparsity as cubic_sparsity
    from forge.core.compress._prune import sparsity as sparsity
    from forge.core.compress._qat import QATCallback as QATCallback
    from forge.core.compress._qat import convert_qat as convert_qat
    from forge.core.compress._qat import prepare_qat as prepare_qat
    from forge.core.compress._quantize import compile_quantized as compile_quantized
    from forge.core.compress._quantize import model_size_bytes as model_size_bytes
    from forge.core.compress._quantize import quantize_dynamic as quantize_dynamic
    from forge.core.compress._quantize import quantize_static as quantize_static
    from forge.core.compress._run import METHODS as METHODS
    from forge.core.compress._run import CompressResult as CompressResult
    from forge.core.compress._run import compress_run as compress_run
    from forge.core.compress._run import evaluate_model as evaluate_model

__getattr__, __dir__ = lazy_exports(__name__, __file__)
