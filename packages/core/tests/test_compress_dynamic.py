"""Dynamic int8 quantization backends (pt2e and torchao) and the frozen compile that runs their int8 kernels."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

import pytest
import torch

from forge.core import registry
from forge.core.compress._quantize import compile_quantized, quantize_dynamic
from forge.core.errors import ConfigError, ExportError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed")
x86_onednn = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available(),
    reason="the oneDNN int8 kernels are lowered on x86 CPUs with mkldnn only",
)


def _mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model: torch.nn.Module = registry.build("model", "core.mlp", in_features=32, num_classes=10, hidden=[128, 128])
    return model.eval()


def _agreement(out: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    """Top-1 agreement and relative L2 error of ``out`` against the fp32 ``ref``."""
    top1 = (out.argmax(-1) == ref.argmax(-1)).float().mean().item()
    return top1, ((out - ref).norm() / ref.norm()).item()


def _targets(graph: torch.fx.GraphModule) -> set[str]:
    return {str(n.target) for n in graph.graph.nodes if n.op == "call_function"}


def test_pt2e_backend_holds_dynamic_quantization_ops_and_stays_close() -> None:
    model = _mlp()
    q = quantize_dynamic(model, (torch.randn(2, 32),), backend="pt2e")
    assert q.forge_int8_backend == "pt2e"
    targets = _targets(q)
    # activations: scale and zero point chosen per batch at run time; weights: int8 per output channel
    assert any("choose_qparams" in t for t in targets), targets
    assert any("dequantize_per_channel" in t for t in targets), targets
    int8 = [b for b in list(q.parameters()) + list(q.buffers()) if b.dtype == torch.int8]
    assert len(int8) == 3  # the three linear weights
    x = torch.randn(256, 32)  # another batch size than the example: the batch dimension is dynamic
    with torch.no_grad():
        out, ref = q(x), model(x)
    top1, rel = _agreement(out, ref)
    assert 0 < rel < 0.05 and top1 >= 0.95  # the arithmetic really changed, and only a little


def test_auto_backend_picks_pt2e_with_an_example_and_torchao_without() -> None:
    model = _mlp()
    assert quantize_dynamic(model, (torch.randn(2, 32),)).forge_int8_backend == "pt2e"
    plain = quantize_dynamic(model)
    assert plain.forge_int8_backend == "torchao"
    assert isinstance(plain, type(model))  # torchao keeps the module, swapping its weights
    x = torch.randn(64, 32)
    with torch.no_grad():
        top1, rel = _agreement(plain(x), model(x))
    assert 0 < rel < 0.05 and top1 >= 0.95


def test_bad_backend_or_missing_example_is_refused() -> None:
    with pytest.raises(ConfigError, match="backend 'fbgemm'"):
        quantize_dynamic(_mlp(), (torch.randn(2, 32),), backend="fbgemm")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="example batch is needed"):
        quantize_dynamic(_mlp(), backend="pt2e")


@x86_onednn
def test_compile_quantized_lowers_pt2e_dynamic_linears_to_onednn_qlinear() -> None:
    from torch._inductor.utils import run_and_get_code

    torch._dynamo.reset()
    model = _mlp()
    q = quantize_dynamic(model, (torch.randn(2, 32),), backend="pt2e")
    run = compile_quantized(q)
    x = torch.randn(32, 32)
    out, code = run_and_get_code(run, x)
    source = "\n".join(code)
    # freezing prepacked the int8 weights and the linears run as oneDNN int8 kernels, not float code
    assert "qlinear_pointwise" in source, source[:2000]
    with torch.no_grad():
        eager_q, ref = q(x), model(x)
    top1, rel = _agreement(out, ref)
    assert rel < 0.05 and top1 >= 0.95
    assert _agreement(out, eager_q)[1] < 0.02  # the kernels compute what the graph says
    assert not torch._inductor.config.freezing  # switched on only inside the call
    torch._dynamo.reset()


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_pt2e_int8_keeps_no_float_copy_of_the_weights(static: bool, tmp_path: Path) -> None:
    from forge.core.compress._quantize import quantize_static

    torch.manual_seed(0)
    model = registry.build("model", "core.mlp", in_features=32, num_classes=10, hidden=[512, 512]).eval()
    example = (torch.randn(4, 32),)
    q = quantize_static(model, example, [example]) if static else quantize_dynamic(model, example, backend="pt2e")
    held = {n: t.dtype for n, t in (*q.named_parameters(), *q.named_buffers())}
    assert not [n for n, dtype in held.items() if n.endswith("weight") and dtype == torch.float32], held
    int8 = sum(t.numel() for t in q.state_dict().values() if t.dtype == torch.int8)
    assert int8 == sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    # a saved program is about a quarter of the fp32 weights (int8 weights, float biases and scales)
    program = torch.export.export(q, example)
    torch.export.save(program, str(tmp_path / "q.pt2"))
    fp32 = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert (tmp_path / "q.pt2").stat().st_size < 0.5 * fp32
    assert torch.allclose(torch.export.load(str(tmp_path / "q.pt2")).module()(*example), q(*example))
