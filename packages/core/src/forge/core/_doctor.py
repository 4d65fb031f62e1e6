"""``forge doctor``: the facts about this environment that decide what forge can do here."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

__all__ = ["collect", "format_report"]


def _probe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # each probe reports its own failure instead of stopping the report
        return f"unavailable ({type(exc).__name__}: {exc})"


def _driver_version() -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    out = subprocess.run(
        [exe, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
    )
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def _fused_adamw(device: str) -> bool:
    import torch

    p = torch.nn.Parameter(torch.zeros(4, device=device))
    opt = torch.optim.AdamW([p], fused=True)
    p.grad = torch.ones_like(p)
    opt.step()
    return True


def _compile_works() -> bool:
    import torch

    fn = torch.compile(lambda x: x * 2 + 1, backend="inductor")
    return bool(torch.equal(fn(torch.ones(3)), torch.full((3,), 3.0)))


def _compiler_status(probe: bool) -> Any:
    if probe:
        return _probe(_compile_works)
    if shutil.which("g++") or shutil.which("c++") or shutil.which("cc"):
        return "available (inductor; C++ compiler found; `forge doctor --probe` compiles a test function)"
    return "no C++ compiler found for the inductor CPU backend"


def _features(torch: Any, probe: bool) -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    feats: dict[str, Any] = {
        "bf16": bool(torch.cuda.is_bf16_supported()) if cuda else "cpu autocast only",
        "fp16 autocast": cuda,
        "flash attention (SDPA)": bool(
            cuda and torch.backends.cuda.flash_sdp_enabled() and torch.cuda.get_device_capability(0) >= (8, 0)
        ),
        "memory-efficient attention (SDPA)": bool(cuda and torch.backends.cuda.mem_efficient_sdp_enabled()),
        "torch.compile": _compiler_status(probe),
        "fused AdamW (cpu)": _probe(lambda: _fused_adamw("cpu")),
    }
    if cuda:
        feats["fused AdamW (cuda)"] = _probe(lambda: _fused_adamw("cuda"))
    return feats


def _plugin_compat() -> list[dict[str, Any]]:
    from packaging.requirements import Requirement
    from packaging.version import Version

    from forge.core._plugins import core_version
    from forge.core._registry import registry

    core = Version(core_version().split("+")[0]) if core_version()[0].isdigit() else None
    rows = []
    for info in registry.plugins:
        spec = None
        if info.distribution not in ("?", "forge-core"):
            for req in metadata.requires(info.distribution) or []:
                r = Requirement(req)
                if r.name == "forge-core" and r.marker is None:
                    spec = r.specifier
        ok = info.status == "loaded" and (spec is None or core is None or spec.contains(core, prereleases=True))
        rows.append(
            {
                "plugin": info.name,
                "distribution": f"{info.distribution} {info.version}",
                "requires forge-core": str(spec) if spec is not None else "-",
                "plugin api": info.api_version,
                "status": info.status,
                "compatible": ok,
                "error": info.error,
                "warnings": info.warnings,
                "load ms": None if info.load_ms is None else round(info.load_ms, 1),
                "commands": list(info.commands),
            }
        )
    return rows


def collect(*, probe: bool = False) -> dict[str, Any]:
    """Gather the environment report: Python, torch, CUDA, GPUs, features and plugins.

    Args:
        probe: Also compile a small function with torch.compile to prove it works (slow).
    """
    report: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    try:
        import torch
    except ImportError as exc:
        report["torch"] = f"not importable ({exc})"
        report["plugins"] = _probe(_plugin_compat)
        return report
    report["torch"] = torch.__version__
    report["cuda (torch build)"] = torch.version.cuda
    report["cuda available"] = torch.cuda.is_available()
    report["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None  # type: ignore[no-untyped-call]  # torch leaves these untyped
    report["driver"] = _probe(_driver_version)
    report["gpus"] = [
        {
            "name": torch.cuda.get_device_name(i),
            "compute capability": ".".join(map(str, torch.cuda.get_device_capability(i))),
            "memory GiB": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
        }
        for i in range(torch.cuda.device_count())
    ]
    report["cpu threads"] = torch.get_num_threads()
    report["features"] = _features(torch, probe)
    report["plugins"] = _probe(_plugin_compat)
    return report


def format_report(report: dict[str, Any]) -> str:
    """Render :func:`collect`'s report for people."""
    lines = []
    for key, value in report.items():
        if key == "features":
            lines.append("features:")
            lines += [f"  {k}: {v}" for k, v in value.items()]
        elif key == "gpus":
            lines.append(f"gpus: {len(value) or 'none'}")
            lines += [f"  {g['name']} (sm {g['compute capability']}, {g['memory GiB']} GiB)" for g in value]
        elif key == "plugins" and isinstance(value, list):
            lines.append("plugins:")
            for p in value:
                mark = "ok" if p["compatible"] else "INCOMPATIBLE"
                lines.append(
                    f"  {p['plugin']}: {p['distribution']}, needs forge-core {p['requires forge-core']}, "
                    f"api {p['plugin api']}, {p['status']}: {mark}" + (f" ({p['error']})" if p["error"] else "")
                )
                if p.get("load ms") is not None or p.get("commands"):
                    load = "-" if p.get("load ms") is None else f"{p['load ms']:.0f} ms"
                    lines.append(f"    loads in {load}; commands: {', '.join(p.get('commands') or []) or '-'}")
                lines += [f"    warning: {w}" for w in p.get("warnings") or []]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
