"""What the server serves: models loaded from run directories, exports, or folders of versions.

``forge serve PATH`` accepts:

- a **run directory** (``config.json`` + ``checkpoints/``): the model is rebuilt through the
  registry and its best (or last) weights loaded (:func:`forge.core.load_model`); the input schema
  comes from ``lineage.json`` (:func:`~forge.serve.schema.schema_from_lineage`);
- an **export** folder (``export.json`` from ``forge export --format torch_export``):
  ``model.pt2`` is loaded with ``torch.export.load``;
- a **model repository**: a folder of ``NAME/VERSION/`` run directories or exports (or of
  ``NAME/`` run directories, each served as version ``1``), all loaded at once.

A model with a ``stream(request)`` method (:class:`~forge.serve.streaming.StreamingModel`) also
gets the SSE streaming route.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from forge.core.errors import CheckpointError, ConfigError, SchemaError
from forge.serve.schema import InputSchema, schema_from_lineage

__all__ = ["ServedModel", "discover", "load_served_model", "named_outputs"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ServedModel:
    """One version of one model, ready to run.

    Args:
        name: The model's name in URLs (letters, digits, ``_``, ``.``, ``-``).
        version: Its version (``"1"``, ``"2"``, ...).
        module: The model: a callable taking a batch tensor (a ``torch.nn.Module`` usually); it may
            have a ``stream(request)`` method for streaming.
        schema: Its declared input.
        source: Where it was loaded from (shown by the model metadata routes).
        image_size: ``(height, width)`` images are resized to for image bodies.
        transform: Applied to each decoded image ``[C, H, W]`` (the run's evaluation transform).
        device: The torch device it runs on.
        platform: What kind of artifact it is (``"forge-run"``, ``"torch-export"``, ``"python"``).

    Raises:
        ConfigError: an invalid name or version.
    """

    def __init__(
        self,
        name: str,
        version: str,
        module: Callable[[Tensor], Any],
        schema: InputSchema,
        *,
        source: str = "",
        image_size: tuple[int, int] | None = None,
        transform: Callable[[Tensor], Tensor] | None = None,
        device: str = "cpu",
        platform: str = "python",
    ) -> None:
        for what, value in (("model name", name), ("version", version)):
            if not _NAME.match(value):
                raise ConfigError(f"{what} {value!r}: use 1-64 letters, digits, '_', '.' or '-'")
        self.name = name
        self.version = version
        self.module = module
        self.schema = schema
        self.source = source
        self.image_size = image_size
        self.transform = transform
        self.device = torch.device(device)
        self.platform = platform
        self.outputs: list[tuple[str, str, list[int]]] = []
        """``(name, dtype, per-sample shape)`` of each output, known after :meth:`warm_up`."""
        if isinstance(module, torch.nn.Module):
            module.to(self.device)
            try:
                module.eval()
            except (NotImplementedError, RuntimeError):  # exported programs refuse mode switches; already eval
                pass

    @property
    def streams(self) -> bool:
        """Whether the model can stream (has a ``stream`` method)."""
        return callable(getattr(self.module, "stream", None))

    def forward(self, x: Tensor) -> Any:
        """Run the model on a batch (moved to the model's device); the output comes back on the CPU."""
        out = self.module(x.to(self.device, non_blocking=True))
        return _to_cpu(out)

    def warm_up(self) -> None:
        """Run the model once on :meth:`example` and record its outputs' names, dtypes and shapes."""
        with torch.inference_mode():
            out = self.forward(self.example(2))
        self.outputs = [(n, str(t.dtype).removeprefix("torch."), list(t.shape[1:])) for n, t in named_outputs(out)]

    def example(self, batch: int = 1) -> Tensor:
        """A zero input of the schema's shape (free sizes: the image size, else 8), for warm-up."""
        dims = list(self.schema.shape)
        free = [i for i, d in enumerate(dims) if d == -1]
        if self.image_size is not None and len(free) >= 2:
            dims[free[-2]], dims[free[-1]] = self.image_size
        shape = [batch, *(8 if d == -1 else d for d in dims)]
        return torch.zeros(shape, dtype=getattr(torch, self.schema.dtype))

    def describe(self) -> dict[str, Any]:
        """Name, version, platform, source and input schema, as JSON."""
        return {
            "name": self.name,
            "version": self.version,
            "platform": self.platform,
            "source": self.source,
            "input": self.schema.describe(),
            "image_size": list(self.image_size) if self.image_size else None,
            "classes": list(self.schema.classes) if self.schema.classes else None,
            "streaming": self.streams,
        }


def named_outputs(out: Any) -> list[tuple[str, Tensor]]:
    """A model output as named tensors: ``output`` for a tensor, the keys of a mapping, ``output_i`` of a tuple.

    Raises:
        SchemaError: the output holds something other than tensors.
    """
    if isinstance(out, Tensor):
        return [("output", out)]
    if isinstance(out, Mapping) and all(isinstance(v, Tensor) for v in out.values()):
        return [(str(k), v) for k, v in out.items()]
    if isinstance(out, (tuple, list)) and all(isinstance(v, Tensor) for v in out):
        return [(f"output_{i}", v) for i, v in enumerate(out)]
    raise SchemaError(f"model output of type {type(out).__name__} is not a tensor, a tuple or a mapping of tensors")


def _to_cpu(out: Any) -> Any:
    if isinstance(out, Tensor):
        return out.detach().to("cpu")
    if isinstance(out, Mapping):
        return {k: _to_cpu(v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return type(out)(_to_cpu(v) for v in out)
    return out


def _is_run(path: Path) -> bool:
    return (path / "config.json").is_file()


def _is_export(path: Path) -> bool:
    return (path / "export.json").is_file()


def discover(path: str | os.PathLike[str], *, name: str | None = None) -> list[tuple[str, str, Path]]:
    """Find what a path holds: ``[(model name, version, run or export folder), ...]``.

    Args:
        path: A run directory, an export folder, or a model repository (see the module docs).
        name: The model name for a single run or export (default: the folder's name).

    Raises:
        CheckpointError: the path does not exist or holds nothing servable.
    """
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"{root}: no such directory (expected a run directory, an export or a model folder)")
    if _is_run(root) or _is_export(root):
        return [(name or _clean(root.name), "1", root)]
    found: list[tuple[str, str, Path]] = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if _is_run(child) or _is_export(child):
            found.append((_clean(child.name), "1", child))
            continue
        for version in sorted(p for p in child.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if _is_run(version) or _is_export(version):
                found.append((_clean(child.name), version.name, version))
    if not found:
        raise CheckpointError(
            f"{root}: holds no run directory (config.json), export (export.json) or NAME/VERSION/ folders of them"
        )
    return found


def _clean(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-.") or "model"
    return cleaned[:64]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def _image_size(lineage: Mapping[str, Any]) -> tuple[int, int] | None:
    extra = (lineage.get("dataset") or {}).get("extra") or {}
    size = extra.get("image_size") if isinstance(extra, Mapping) else None
    if isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size):
        return int(size[0]), int(size[1])
    return None


def _eval_transform(config: Mapping[str, Any]) -> Callable[[Tensor], Tensor] | None:
    data = config.get("data") or {}
    spec = data.get("eval_transform") if isinstance(data, Mapping) else None
    if not isinstance(spec, Mapping) or "name" not in spec:
        return None
    from forge.core import registry

    params = {k: v for k, v in spec.items() if k != "name"}
    built: Callable[[Tensor], Tensor] = registry.build("transform", str(spec["name"]), **params)
    return built


def load_served_model(
    name: str,
    version: str,
    path: str | os.PathLike[str],
    *,
    which: str = "best",
    device: str = "cpu",
    schema: InputSchema | None = None,
) -> ServedModel:
    """Load one run directory or export as a :class:`ServedModel`.

    Args:
        name: The model's name.
        version: Its version.
        path: The run directory or export folder.
        which: ``"best"`` or ``"last"`` checkpoint of a run.
        device: Where the model runs.
        schema: Overrides the declared input schema.

    Raises:
        CheckpointError: the folder cannot be loaded.
        SchemaError: it declares no usable input schema and none was given.
    """
    folder = Path(path)
    if _is_run(folder):
        from forge.core import load_model

        lineage_path = folder / "lineage.json"
        lineage = _read_json(lineage_path) if lineage_path.is_file() else {}
        if schema is None:
            schema = schema_from_lineage(lineage, where=str(lineage_path))
        module = load_model(folder, "best" if which == "best" else "last")
        config = _read_json(folder / "config.json")
        return ServedModel(
            name,
            version,
            module,
            schema,
            source=str(folder),
            image_size=_image_size(lineage),
            transform=_eval_transform(config),
            device=device,
            platform="forge-run",
        )
    if _is_export(folder):
        manifest = _read_json(folder / "export.json")
        fmt = manifest.get("format")
        if fmt != "torch_export":
            raise CheckpointError(
                f"{folder}: export format {fmt!r} cannot be served; export with --format torch_export"
            )
        lineage = manifest.get("lineage") or {}
        if schema is None:
            try:
                schema = schema_from_lineage(lineage, where=f"{folder / 'export.json'} lineage")
            except SchemaError:
                inputs = manifest.get("inputs") or []
                if len(inputs) != 1:
                    raise SchemaError(
                        f"{folder}/export.json: serving needs exactly one input, the export declares {len(inputs)}"
                    ) from None
                schema = InputSchema(
                    shape=tuple(-1 if not isinstance(d, int) else d for d in inputs[0]["shape"][1:]),
                    dtype=str(inputs[0]["dtype"]),
                )
        program = torch.export.load(str(folder / "model.pt2"))
        return ServedModel(
            name,
            version,
            program.module(),
            schema,
            source=str(folder),
            image_size=_image_size(lineage),
            device=device,
            platform="torch-export",
        )
    raise CheckpointError(f"{folder}: neither a run directory (config.json) nor an export (export.json)")
