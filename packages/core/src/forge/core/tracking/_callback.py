"""The ``core.tracking`` callback: mirrors ``log.jsonl`` and the run's files into trackers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forge.core._run_files import read_json
from forge.core.errors import ConfigError
from forge.core.tracking._base import Tracker, flatten_params
from forge.core.tracking._configs import TrackingConfig

__all__ = ["TrackingCallback", "build_tracking"]

# metrics.json is written after training (with the test split's figures), once the trackers have finished
_ARTIFACTS = ("config.json", "environment.json", "lineage.json")


class TrackingCallback:
    """Send a run's config, metric records and files to each tracker."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = trackers
        self.run_dir: Path | None = None
        self._offset = 0
        self._failed = False

    def on_train_start(self, trainer: Any) -> None:
        """Start every tracker; records already in ``log.jsonl`` (a resumed run's) are not re-sent."""
        run = getattr(trainer, "run_dir", None)
        if run is None:
            return
        self.run_dir = Path(run.path)
        config_file = self.run_dir / "config.json"
        config = read_json(config_file, missing={})
        log = self.run_dir / "log.jsonl"
        self._offset = log.stat().st_size if log.is_file() else 0
        for tracker in self.trackers:
            tracker.start(self.run_dir, flatten_params(config))

    def _flush(self) -> None:
        if self.run_dir is None:
            return
        log = self.run_dir / "log.jsonl"
        if not log.is_file():
            return
        with log.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next flush
        self._offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            record = json.loads(line)
            step = record.get("step")
            numbers = {
                k: float(v)
                for k, v in record.items()
                if k not in ("step", "time") and isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            if isinstance(step, int) and numbers:
                for tracker in self.trackers:
                    tracker.log_metrics(numbers, step)

    def on_validation_end(self, trainer: Any, metrics: Mapping[str, float]) -> None:
        """Send the records written since the last flush."""
        self._flush()

    def on_exception(self, trainer: Any, exception: BaseException) -> None:
        """Remember that the run failed."""
        self._failed = True

    def on_train_end(self, trainer: Any) -> None:
        """Send the remaining records and the run's files, then finish each tracker."""
        if self.run_dir is None:
            return
        self._flush()
        for name in _ARTIFACTS:
            path = self.run_dir / name
            if path.is_file():
                for tracker in self.trackers:
                    tracker.log_artifact(path)
        for tracker in self.trackers:
            tracker.finish("failed" if self._failed else "finished")


def build_tracking(config: TrackingConfig) -> TrackingCallback:
    """Builder of ``core.tracking``: builds each tracker section through the registry."""
    from forge.core._registry import registry

    trackers: list[Tracker] = []
    for i, section in enumerate(config.trackers):
        if not isinstance(section, Mapping) or "name" not in section:
            raise ConfigError(f"callbacks.core.tracking.trackers[{i}]: needs name = '<tracker>' (core.csv, ...)")
        fields = {k: v for k, v in section.items() if k != "name"}
        tracker = registry.build("tracker", str(section["name"]), **fields)
        if not isinstance(tracker, Tracker):
            raise ConfigError(f"trackers[{i}]: {section['name']} built a {type(tracker).__name__}, not a Tracker")
        trackers.append(tracker)
    return TrackingCallback(trackers)
