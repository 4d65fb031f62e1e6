"""Core's exporters: torch.export, AOTInductor, ONNX (dynamo + onnxruntime), TorchScript, TensorRT."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.utils._pytree as pytree

from forge.core.errors import ExportError
from forge.core.export._base import Artifact, dynamic_shapes, input_leaves
from forge.core.export._configs import (
    AOTInductorConfig,
    OnnxConfig,
    TensorRTConfig,
    TorchExportConfig,
    TorchScriptConfig,
)

__all__ = ["AOTInductorExporter", "OnnxExporter", "TensorRTExporter", "TorchExportExporter", "TorchScriptExporter"]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _reason(exc: BaseException, limit: int = 500) -> str:
    """The first ``limit`` characters of an exporter's message, without terminal colour codes."""
    return _ANSI.sub("", str(exc)).strip()[:limit] or type(exc).__name__


_TARGET = re.compile(r"target=([\w.:]+)")


def _onnx_reason(exc: BaseException) -> str:
    """Which operator the ONNX exporter could not translate, and the innermost cause.

    The exporter's own message opens with generic next steps; the chain of causes under it names
    the node (``target=torch.ops.aten.bincount.default``) and what went wrong.
    """
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 32:
        chain.append(cause)
        cause = cause.__cause__
    if len(chain) == 1:
        return _reason(exc)
    root = _reason(chain[-1], 300).splitlines()[0]
    if "step 1/3" in str(exc):  # torch.export itself failed, before any ONNX translation
        return f"torch.export could not trace the model: {root}"
    op = next((m.group(1) for c in chain if (m := _TARGET.search(str(c)))), None)
    return root if op is None else f"cannot translate {op.removeprefix('torch.ops.')} ({root})"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the exporters' progress prints, warnings and log lines out of forge's output."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "torch._inductor")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _program(model: torch.nn.Module, example: tuple[Any, ...], strict: bool) -> Any:
    try:
        with _quiet():
            return torch.export.export(model, example, dynamic_shapes=dynamic_shapes(example), strict=strict)
    except ExportError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"torch.export could not trace the model: {first}") from exc


class TorchExportExporter:
    """``model.pt2``: a serialized ExportedProgram (``torch.export.load(path).module()`` runs it)."""

    format = "torch_export"

    def __init__(self, config: TorchExportConfig | None = None) -> None:
        self.config = config or TorchExportConfig()

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Export and save; the artifact runs the reloaded program."""
        program = _program(model, example, self.config.strict)
        path = directory / "model.pt2"
        try:
            with _quiet():
                torch.export.save(program, str(path))
                loaded = torch.export.load(str(path)).module()
        except Exception as exc:
            raise ExportError(f"the traced program does not survive saving and loading: {_reason(exc)}") from exc
        return Artifact(self.format, ("model.pt2",), loaded, {"torch": torch.__version__, "strict": self.config.strict})


class AOTInductorExporter:
    """``model.aoti.pt2``: the program compiled by AOTInductor into a package of native code."""

    format = "aoti"

    def __init__(self, config: AOTInductorConfig | None = None) -> None:
        self.config = config or AOTInductorConfig()

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Compile and package; the artifact runs the loaded package."""
        import torch._inductor

        program = _program(model, example, self.config.strict)
        path = directory / "model.aoti.pt2"
        try:
            with _quiet():
                torch._inductor.aoti_compile_and_package(program, package_path=str(path))
                runner = torch._inductor.aoti_load_package(str(path))
        except Exception as exc:
            raise ExportError(f"AOTInductor could not compile the model: {_reason(exc)}") from exc
        device = next((p.device.type for p in model.parameters()), "cpu")
        return Artifact(self.format, ("model.aoti.pt2",), runner, {"torch": torch.__version__, "device": device})


class OnnxExporter:
    """``model.onnx`` through ``torch.onnx.export(dynamo=True)``, run with onnxruntime."""

    format = "onnx"

    def __init__(self, config: OnnxConfig | None = None) -> None:
        self.config = config or OnnxConfig()

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Export, optimize and save; the artifact runs an onnxruntime session on the CPU."""
        for module in ("onnx", "onnxscript", "onnxruntime"):
            if importlib.util.find_spec(module) is None:
                raise ExportError(
                    f"ONNX export needs {module}, which is not installed: pip install onnx onnxscript onnxruntime "
                    "(or install forge-core with its onnx extra)"
                )
        import onnxruntime as ort

        # one ONNX input per tensor of the flattened example, named by its path (input_0.x)
        names = [leaf.name for leaf in input_leaves(example)]
        path = directory / "model.onnx"
        try:
            with _quiet():
                program = torch.onnx.export(
                    model,
                    example,
                    dynamo=True,
                    opset_version=self.config.opset,
                    input_names=names,
                    dynamic_shapes=dynamic_shapes(example),
                    optimize=self.config.optimize,
                    verbose=False,
                )
                if program is None:  # pragma: no cover - dynamo=True always returns a program
                    raise ExportError("torch.onnx.export returned no program")
                program.save(str(path))
        except ExportError:
            raise
        except Exception as exc:
            raise ExportError(f"ONNX export failed: {_onnx_reason(exc)}") from exc
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}  # inputs the model never reads are dropped

        def run(*args: Any) -> list[Any]:
            tensors = _input_tensors(args)
            if len(tensors) != len(names):
                raise ExportError(f"onnx: {len(tensors)} input tensors given, the export takes {len(names)}")
            feeds = {n: t.detach().cpu().numpy() for n, t in zip(names, tensors, strict=True) if n in wanted}
            return [torch.from_numpy(o) for o in session.run(None, feeds)]

        details = {"opset": self.config.opset, "optimized": self.config.optimize, "onnxruntime": ort.__version__}
        return Artifact(self.format, ("model.onnx",), run, details)


class TorchScriptExporter:
    """``model.torchscript.pt`` by ``torch.jit.trace`` or ``torch.jit.script`` (deprecated upstream)."""

    format = "torchscript"

    def __init__(self, config: TorchScriptConfig | None = None) -> None:
        self.config = config or TorchScriptConfig()

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Trace or script and save; the artifact runs the reloaded module.

        Tracing takes tensors and tuples, lists and dicts of them; an example holding other
        pytree types (a graph whose absent fields are None) is traced through a wrapper that
        takes its tensors flattened, in the order of the manifest's inputs.
        """
        path = directory / "model.torchscript.pt"
        flat = self.config.method == "trace" and not all(isinstance(x, torch.Tensor) for x in example)
        try:
            with _quiet():
                if self.config.method == "trace":
                    traced = _FlatInputs(model, example) if flat else model
                    args = tuple(_input_tensors(example)) if flat else example
                    module = torch.jit.trace(traced, args, check_trace=False)  # type: ignore[no-untyped-call]
                else:
                    module = torch.jit.script(model)
                torch.jit.save(module, str(path))
                loaded = torch.jit.load(str(path))  # type: ignore[no-untyped-call]
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"TorchScript ({self.config.method}) failed: {first}") from exc
        details = {"method": self.config.method, "flat_inputs": flat}
        if not flat:
            return Artifact(self.format, ("model.torchscript.pt",), loaded, details)

        def run(*args: Any) -> Any:
            return loaded(*_input_tensors(args))

        return Artifact(self.format, ("model.torchscript.pt",), run, details)


def _input_tensors(args: Any) -> list[torch.Tensor]:
    """The tensors of a pytree of inputs, in flatten order (the order of the manifest's inputs)."""
    return [t for t in pytree.tree_leaves(args) if isinstance(t, torch.Tensor)]


class _FlatInputs(torch.nn.Module):
    """Calls ``model`` on inputs rebuilt from their tensors (what ``torch.jit.trace`` can pass)."""

    def __init__(self, model: torch.nn.Module, example: tuple[Any, ...]) -> None:
        super().__init__()
        self.model = model
        self._leaves, self._spec = pytree.tree_flatten(example)
        self._slots = [i for i, leaf in enumerate(self._leaves) if isinstance(leaf, torch.Tensor)]

    def forward(self, *tensors: torch.Tensor) -> Any:
        leaves = list(self._leaves)
        for slot, tensor in zip(self._slots, tensors, strict=True):
            leaves[slot] = tensor
        return self.model(*pytree.tree_unflatten(leaves, self._spec))


class TensorRTExporter:
    """A TensorRT engine inside an ExportedProgram, through torch_tensorrt (CUDA GPUs only)."""

    format = "tensorrt"

    def __init__(self, config: TensorRTConfig | None = None) -> None:
        self.config = config or TensorRTConfig()

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Compile with TensorRT and save; refuses clearly where TensorRT or a GPU is missing."""
        if importlib.util.find_spec("torch_tensorrt") is None:
            raise ExportError(
                "TensorRT export needs torch_tensorrt (NVIDIA TensorRT for PyTorch), which is not installed: "
                "pip install torch-tensorrt (the build matching your torch and CUDA); other formats: "
                "torch_export, aoti, onnx, torchscript"
            )
        if not torch.cuda.is_available():
            raise ExportError("TensorRT export needs a CUDA GPU, and none is visible")
        if not all(isinstance(x, torch.Tensor) for x in example):
            kinds = ", ".join(type(x).__name__ for x in example)
            raise ExportError(f"TensorRT export takes tensor inputs only, the example holds {kinds}")
        import torch_tensorrt

        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.config.precision]
        model = model.cuda()
        inputs = [
            torch_tensorrt.Input(
                min_shape=(1, *x.shape[1:]),
                opt_shape=tuple(x.shape),
                max_shape=(self.config.max_batch, *x.shape[1:]),
                dtype=x.dtype,
            )
            for x in example
        ]
        cuda_example = tuple(x.cuda() for x in example)
        path = directory / "model.trt.ep"
        try:
            with _quiet():
                compiled = torch_tensorrt.compile(model, ir="dynamo", inputs=inputs, enabled_precisions={dtype})
                torch_tensorrt.save(compiled, str(path), inputs=list(cuda_example))
        except Exception as exc:
            raise ExportError(f"TensorRT compilation failed: {_reason(exc)}") from exc
        loaded = torch.export.load(str(path)).module()

        def run(*args: torch.Tensor) -> Any:
            return loaded(*(a.cuda() for a in args))

        return Artifact(self.format, ("model.trt.ep",), run, {"precision": self.config.precision})
