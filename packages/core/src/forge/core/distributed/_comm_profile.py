"""How much of a profiled window went to communication (collectives) and how much to compute.

Reads a torch profiler's operator averages (``prof.key_averages()``): collective operations
(``c10d::allreduce_``, ``nccl:all_reduce``, gloo's, barriers, DDP's ``record_param_comms``...)
are communication, every other operator compute. On CUDA the device time is counted (NCCL
kernels run on the GPU), on CPU the host time. The trainer's profiler callback writes the result
as ``communication.json`` beside its trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["communication_summary", "is_communication"]

_COMMUNICATION = re.compile(
    r"c10d::|nccl|gloo|record_param_comms|all_?reduce|all_?gather|reduce_?scatter|all_?to_?all|broadcast|barrier",
    re.IGNORECASE,
)


def is_communication(name: str) -> bool:
    """Whether the profiler operator ``name`` is a collective (communication between ranks)."""
    return bool(_COMMUNICATION.search(name))


def communication_summary(averages: Iterable[Any], *, device: bool, top_k: int = 10) -> dict[str, Any]:
    """Split a profiled window's self time into communication and compute.

    Args:
        averages: The profiler's operator averages (``prof.key_averages()``): objects with ``key``,
            ``count``, ``self_cpu_time_total`` and ``self_device_time_total`` (microseconds).
        device: Count device time (CUDA) instead of host time.
        top_k: How many communication operators to list.

    Returns:
        ``{"clock", "communication_us", "compute_us", "communication_share", "communication_ops"}``;
        the share is 0 when nothing was timed.
    """
    attribute = "self_device_time_total" if device else "self_cpu_time_total"
    ops: dict[str, dict[str, float]] = {}
    communication = compute = 0.0
    for event in averages:
        spent = float(getattr(event, attribute, 0.0) or 0.0)
        if is_communication(str(event.key)):
            communication += spent
            entry = ops.setdefault(str(event.key), {"time_us": 0.0, "count": 0.0})
            entry["time_us"] += spent
            entry["count"] += float(getattr(event, "count", 0))
        else:
            compute += spent
    total = communication + compute
    listed = sorted(ops.items(), key=lambda item: item[1]["time_us"], reverse=True)[:top_k]
    return {
        "clock": "device" if device else "cpu",
        "communication_us": round(communication, 3),
        "compute_us": round(compute, 3),
        "communication_share": communication / total if total else 0.0,
        "communication_ops": [
            {"name": name, "time_us": round(v["time_us"], 3), "count": int(v["count"])} for name, v in listed
        ],
    }
