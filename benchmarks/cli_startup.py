"""Cold-process start-up of ``forge plugins`` and ``forge list models`` against ``import torch``.

Each command runs in a fresh interpreter ``--runs`` times (after one untimed warm-up run that fills
the OS file cache); the median wall time is reported. The issue's targets: each forge command
under 0.3 s and under a fifth of ``python -c "import torch"`` on the same machine.

The forge commands run as the ``forge`` console script does (``forge.core.cli:main``), through
``python -c`` so the script works where forge is importable only through PYTHONPATH.

Writes one JSON line per measurement, plus a summary line with the ratios, to stdout and appends
them to ``$OUT/cli_startup.jsonl`` (``OUT`` defaults to /tmp).

    python benchmarks/cli_startup.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FORGE = "import sys; from forge.core.cli import main; sys.argv[0] = 'forge'; main()"
COMMANDS: dict[str, list[str]] = {
    "python_startup": [sys.executable, "-c", "pass"],
    "forge_plugins": [sys.executable, "-c", FORGE, "plugins"],
    "forge_list_models": [sys.executable, "-c", FORGE, "list", "models"],
    "import_torch": [sys.executable, "-c", "import torch"],
}
TARGET_SECONDS = 0.3
TARGET_FRACTION_OF_TORCH = 0.2


def time_command(argv: list[str], runs: int) -> list[float]:
    """Wall times in seconds of ``runs`` fresh processes of ``argv`` (after one warm-up run).

    Raises:
        RuntimeError: the command exits non-zero (its stderr is included).
    """
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[-2:])} exited {proc.returncode}: {proc.stderr[-2000:]}")
        if i:  # the first run only warms the file cache
            times.append(elapsed)
    return times


def plugin_count() -> int:
    """How many forge plugins this interpreter sees (every installed one is loaded by the commands)."""
    from importlib import metadata

    return len(list(metadata.entry_points(group="forge.plugins")))


def main() -> None:
    """Measure, print and record the start-up times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Timed runs per command (median reported).")
    args = parser.parse_args()
    out = Path(os.environ.get("OUT", "/tmp")) / "cli_startup.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "plugins": plugin_count(),
    }
    medians: dict[str, float] = {}
    records: list[dict[str, Any]] = []
    for name, argv in COMMANDS.items():
        times = time_command(argv, args.runs)
        medians[name] = statistics.median(times)
        records.append(
            {
                "benchmark": "cli_startup",
                "command": name,
                "runs": args.runs,
                "median_s": round(medians[name], 4),
                "min_s": round(min(times), 4),
                "max_s": round(max(times), 4),
                **env,
            }
        )
    torch_s = medians["import_torch"]
    summary: dict[str, Any] = {
        "benchmark": "cli_startup",
        "command": "summary",
        **env,
        "target_s": TARGET_SECONDS,
        "target_fraction_of_torch": TARGET_FRACTION_OF_TORCH,
    }
    for name in ("forge_plugins", "forge_list_models"):
        ratio = medians[name] / torch_s
        summary[f"{name}_over_torch"] = round(ratio, 3)
        summary[f"{name}_meets_targets"] = medians[name] < TARGET_SECONDS and ratio < TARGET_FRACTION_OF_TORCH
    records.append(summary)
    with out.open("a", encoding="utf-8") as f:
        for record in records:
            line = json.dumps(record)
            print(line)
            f.write(line + "\n")


if __name__ == "__main__":
    main()
