"""Export a trained run for deployment, verified against eager PyTorch before it counts as done.

Formats (the ``exporter`` components core registers; a plugin may add its own, a TensorRT
exporter say): ``core.torch_export`` (a ``.pt2`` ExportedProgram), ``core.aoti`` (an
AOTInductor compiled package), ``core.onnx`` (the dynamo-based ONNX exporter, optimized by
onnxscript, run through onnxruntime to verify) and ``core.torchscript`` (trace or script;
TorchScript is deprecated upstream and kept for users who still deploy it).

Inputs are tensors or pytrees of them; a registered pytree type implementing
:class:`ExportableInput` (forge-graph's ``Graph``) names its dynamic dimensions and draws the
fresh inputs that verify the artifact.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.export._base import Artifact as Artifact
    from forge.core.export._base import ExportableInput as ExportableInput
    from forge.core.export._base import Exporter as Exporter
    from forge.core.export._base import OutputDiff as OutputDiff
    from forge.core.export._base import Verification as Verification
    from forge.core.export._base import verify_artifact as verify_artifact
    from forge.core.export._run import ExportResult as ExportResult
    from forge.core.export._run import export_model as export_model
    from forge.core.export._run import export_run as export_run
    from forge.core.export._run import read_manifest as read_manifest

__getattr__, __dir__ = lazy_exports(__name__, __file__)
