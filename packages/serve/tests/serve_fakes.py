"""Tiny models built in code for the server tests, loaded by the server process through ``--factory``.

Each exists to prove one behaviour: ``echo`` (each reply belongs to its own request), ``sleepy``
(queueing, overload, disconnects, drain), ``slow`` (deadlines), ``flaky`` (one bad item in a
batch), ``streamer`` (SSE) and ``cm`` versions 1-3 (canary: version 2 always fails).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from forge.serve import InputSchema, ServedModel

POISON = 13.0
"""A value the ``flaky`` model fails on."""


class Echo(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sum(dim=1, keepdim=True)


class Sleepy(nn.Module):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def forward(self, x: Tensor) -> Tensor:
        time.sleep(self.seconds)
        return x * 2


class Flaky(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        if bool((x == POISON).any()):
            raise ValueError("poisoned input")
        return x + 1


class Failing(nn.Module):
    """Passes the warm-up (zeros) and fails on every real input: a bad release."""

    def forward(self, x: Tensor) -> Tensor:
        if bool(x.any()):
            raise RuntimeError("this version is broken")
        return x.sum(dim=1, keepdim=True)


class Streamer(nn.Module):
    """Streams ``max_new_tokens`` tokens, one every 20 ms; records in a file when closed before the end."""

    def forward(self, x: Tensor) -> Tensor:
        return x

    def stream(self, request: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        total = int(request.get("max_new_tokens", 4))
        produced = 0
        try:
            for i in range(total):
                time.sleep(0.02)
                produced += 1
                yield {"token": i, "text": f"t{i}"}
        finally:
            marker = os.environ.get("FORGE_TEST_STREAM_MARKER")
            if marker and produced < total:
                Path(marker).write_text(str(produced), encoding="utf-8")


def build_models() -> list[ServedModel]:
    """Every fake model of the server tests."""
    vec = InputSchema(shape=(4,), dtype="float32")
    sleep = float(os.environ.get("FORGE_TEST_SLEEP", "0.1"))
    return [
        ServedModel("echo", "1", Echo(), vec),
        ServedModel("sleepy", "1", Sleepy(sleep), InputSchema(shape=(2,))),
        ServedModel("slow", "1", Sleepy(2.0), InputSchema(shape=(2,))),
        ServedModel("flaky", "1", Flaky(), vec),
        ServedModel("streamer", "1", Streamer(), vec),
        ServedModel("cm", "1", Echo(), vec),
        ServedModel("cm", "2", Failing(), vec),
        ServedModel("cm", "3", Echo(), vec),
    ]


def build_sleepy() -> list[ServedModel]:
    """Only the sleepy model (for the multi-worker and shutdown tests)."""
    return [
        ServedModel("sleepy", "1", Sleepy(float(os.environ.get("FORGE_TEST_SLEEP", "0.02"))), InputSchema(shape=(2,)))
    ]
