"""Profile a window of training steps with torch.profiler.

Writes ``trace.json`` (open in chrome://tracing or Perfetto), ``top_ops.txt`` (the profiler's table),
``top_ops.json`` (the top operators by self time, with call counts and memory) and
``communication.json`` (time in collectives versus compute, see
:func:`forge.core.distributed._comm_profile.communication_summary`) into a folder; in a
multi-process run each rank writes its own ``rank-K/`` subfolder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from forge.core._atomic import write_file, write_json, write_text
from forge.core.distributed._comm_profile import communication_summary
from forge.core.trainer._config import ProfilerConfig
from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = ["ProfilerCallback", "build_profiler"]


class ProfilerCallback(Callback):
    """Record steps ``wait + warmup`` to ``wait + warmup + active`` and write the results.

    Args:
        config: The window and options.
        output_dir: Where the trace and summaries go (created).
    """

    def __init__(self, config: ProfilerConfig | None = None, output_dir: str | Path = "profile") -> None:
        self.config = config or ProfilerConfig()
        self.output_dir = self._root = Path(output_dir)
        self._prof: Any = None
        self.written: list[Path] = []

    def on_train_start(self, trainer: TrainerView) -> None:
        """Start the profiler with its schedule."""
        import torch.profiler as tp

        from forge.core.distributed._process import world

        rank, world_size = world()
        self.output_dir = self._root / f"rank-{rank}" if world_size > 1 else self._root
        cfg = self.config
        activities = [tp.ProfilerActivity.CPU]
        if trainer.device.type == "cuda":
            activities.append(tp.ProfilerActivity.CUDA)
        self._device = trainer.device.type
        self._prof = tp.profile(
            activities=activities,
            schedule=tp.schedule(wait=cfg.wait, warmup=cfg.warmup, active=cfg.active, repeat=1),
            on_trace_ready=self._write,
            record_shapes=True,
            profile_memory=cfg.record_memory,
            with_stack=cfg.with_stack,
        )
        self._prof.start()

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Advance the profiler's schedule by one step."""
        if self._prof is not None:
            self._prof.step()

    def on_train_end(self, trainer: TrainerView) -> None:
        """Stop (flushing a window cut short by the end of training)."""
        if self._prof is not None:
            prof, self._prof = self._prof, None
            prof.stop()
            if not self.written and prof.profiler is not None and prof.profiler.function_events is not None:
                self._write(prof)

    def _write(self, prof: Any) -> None:
        trace = write_file(self.output_dir / "trace.json", lambda tmp: prof.export_chrome_trace(str(tmp)))
        sort_by = "self_cuda_time_total" if self._device == "cuda" else "self_cpu_time_total"
        averages = prof.key_averages()
        table = averages.table(sort_by=sort_by, row_limit=self.config.top_k)
        write_text(self.output_dir / "top_ops.txt", table + "\n")
        rows = sorted(averages, key=lambda e: getattr(e, sort_by, 0.0), reverse=True)
        top = [
            {
                "name": e.key,
                "count": int(e.count),
                "self_cpu_time_us": float(e.self_cpu_time_total),
                "cpu_time_us": float(e.cpu_time_total),
                "self_device_time_us": float(getattr(e, "self_device_time_total", 0.0)),
                "self_cpu_memory_bytes": int(getattr(e, "self_cpu_memory_usage", 0)),
                "self_device_memory_bytes": int(getattr(e, "self_device_memory_usage", 0)),
            }
            for e in rows[: self.config.top_k]
        ]
        write_json(self.output_dir / "top_ops.json", {"sort_by": sort_by, "ops": top})
        communication = communication_summary(averages, device=self._device == "cuda", top_k=self.config.top_k)
        write_json(self.output_dir / "communication.json", communication)
        self.written = [
            trace,
            self.output_dir / "top_ops.txt",
            self.output_dir / "top_ops.json",
            self.output_dir / "communication.json",
        ]


def build_profiler(config: ProfilerConfig) -> ProfilerCallback:
    """Build :class:`ProfilerCallback` writing into ``./profile`` (registered as callback ``core.profiler``)."""
    return ProfilerCallback(config)
