"""What an exporter is, and how an exported artifact is checked against the eager model.

An :class:`Exporter` turns an eager model and an example batch into files in a directory and
returns an :class:`Artifact`: the files plus a callable that runs them. :func:`verify_artifact`
runs that callable and the eager model on fresh random inputs (other batch sizes than the
example's, to exercise the dynamic dimensions) and compares every output.

Inputs are positional arguments, each a tensor or a pytree of them: tuples, lists, dicts and any
type registered with ``torch.utils._pytree`` (forge-graph's ``Graph``, say). A tensor's dimension 0
is its dynamic batch dimension. A registered type that knows better implements
:class:`ExportableInput`: it names the dynamic dimensions of each of its fields and draws fresh
random instances of itself for verification (a graph's edges must name nodes that exist, which
no generic sampler can know). Where an input offers no sampler, the artifact is verified on the
example itself and the report says so (``verified_on="example"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import attrs
import torch
import torch.utils._pytree as pytree

from forge.core.errors import ExportError

__all__ = [
    "Artifact",
    "ExportableInput",
    "Exporter",
    "InputLeaf",
    "OutputDiff",
    "Verification",
    "as_example",
    "dynamic_shapes",
    "fresh_inputs",
    "input_leaves",
    "verify_artifact",
]

BATCH = "batch"
"""The name of a plain tensor's dynamic dimension 0 (in the manifest's input schema)."""


@runtime_checkable
class ExportableInput(Protocol):
    """An input type (a registered pytree node) that tells export its dynamic dimensions and samples itself.

    forge-graph's ``Graph`` is one: its node and edge counts are dynamic, and it draws random
    graphs whose edges name existing nodes. Core never imports such a type; it calls these methods.
    """

    def export_dynamic_dims(self) -> Sequence[Mapping[int, str] | None]:
        """One entry per pytree child, in the order the type's pytree flatten gives them.

        Each maps a dynamic dimension of that child to its name (``{0: "nodes"}``); None or an
        empty mapping leaves the child static. Children of equal names need not be declared
        equal: torch.export infers the relations between dynamic dimensions.
        """
        ...

    def export_sample(self, size: int, generator: torch.Generator) -> Any:
        """A fresh random value of this type for verification, or None where it cannot draw one.

        Args:
            size: How large to make it (at least 1; verification draws 3 and 5): the number of
                examples of a batch. Its dynamic dimensions should differ from the example's.
            generator: The random source to draw from (so verification is reproducible).
        """
        ...


@attrs.frozen
class InputLeaf:
    """One tensor of the flattened inputs: its name, tensor and named dynamic dimensions."""

    name: str
    tensor: torch.Tensor
    dims: Mapping[int, str]

    def schema(self) -> dict[str, Any]:
        """The manifest's entry: name, shape with dynamic dimensions named, dtype."""
        shape: list[str | int] = [self.dims.get(d, n) for d, n in enumerate(self.tensor.shape)]
        return {"name": self.name, "shape": shape, "dtype": str(self.tensor.dtype).removeprefix("torch.")}


@attrs.frozen
class Artifact:
    """An exported model on disk and a way to run it.

    Attributes:
        format: The exporter's format name (``"onnx"``, ``"torch_export"``, ...).
        files: The files written, relative to the export directory.
        run: Runs the artifact on positional inputs shaped like the example's (tensors or pytrees
            of them); returns a tensor or a sequence of them.
        details: Format facts for the manifest (opset, method, runtime, ...).
    """

    format: str
    files: tuple[str, ...]
    run: Callable[..., Any]
    details: Mapping[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Exporter(Protocol):
    """Builds an artifact from an eager model (what an ``exporter`` component's builder returns)."""

    format: str
    """Short format name, used for the export's folder and manifest."""

    def export(self, model: torch.nn.Module, example: tuple[Any, ...], directory: Path) -> Artifact:
        """Write ``model`` (in eval mode, on CPU) into ``directory``, its dynamic dimensions dynamic.

        Args:
            model: The eager model.
            example: One example of the positional inputs, each a tensor (batch size at least 2)
                or a pytree of tensors (see :func:`dynamic_shapes`).
            directory: An empty directory to write into.

        Raises:
            ExportError: the model cannot be exported in this format (saying why).
        """
        ...


@attrs.frozen
class OutputDiff:
    """How far one output of the artifact is from eager's, over every verification input."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    ok: bool


@attrs.frozen
class Verification:
    """The result of running an artifact against eager PyTorch.

    ``verified_on`` is ``"fresh"`` (random inputs of ``batch_sizes``) or ``"example"`` (the example
    input itself, where an input offers no sampler; ``batch_sizes`` is empty then).
    """

    ok: bool
    rtol: float
    atol: float
    batch_sizes: tuple[int, ...]
    outputs: tuple[OutputDiff, ...]
    verified_on: Literal["fresh", "example"] = "fresh"

    def to_json(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        return attrs.asdict(self)


def as_example(example: Any) -> tuple[Any, ...]:
    """The positional inputs of an example: a tuple or list of them as is, anything else as the one input.

    A registered pytree type that subclasses tuple (forge-graph's ``Graph``) is one input, not a
    tuple of inputs.
    """
    if type(example) in (tuple, list):
        return tuple(example)
    return (example,)


def _children(value: Any) -> tuple[Any, list[Any], list[str], Any]:
    """A pytree node's definition, children, their names (one level of key path) and its context."""
    node = pytree.SUPPORTED_NODES[pytree._get_node_type(value)]
    children, context = node.flatten_fn(value)
    names = [str(i) for i in range(len(children))]
    if node.flatten_with_keys_fn is not None:
        keyed, _ = node.flatten_with_keys_fn(value)
        names = [_key_name(k) for k, _ in keyed]
    return node, list(children), names, context


def _key_name(key: Any) -> str:
    for attr in ("name", "key", "idx"):  # GetAttrKey, MappingKey, SequenceKey
        if hasattr(key, attr):
            return str(getattr(key, attr))
    return str(key)


def _is_constant(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _describe(value: Any, name: str, declared: Mapping[int, str] | None, leaves: list[InputLeaf]) -> Any:
    """The ``dynamic_shapes`` entry of ``value``, appending its tensors to ``leaves``.

    ``declared`` is what the enclosing :class:`ExportableInput` says of this value (None: the
    default, dimension 0 of a tensor is the batch).
    """
    if isinstance(value, torch.Tensor):
        dims = dict(declared) if declared is not None else {0: BATCH}
        for d, dim_name in dims.items():
            if d >= value.dim() or value.shape[d] < 2:
                raise ExportError(
                    f"export needs {name} to have at least 2 along its dynamic dimension {d} ({dim_name}): "
                    f"a size of 0 or 1 would be specialized into the program; it has shape {tuple(value.shape)}"
                )
        leaves.append(InputLeaf(name, value, dims))
        return {d: torch.export.Dim.DYNAMIC for d in dims} or None
    if _is_constant(value):
        return None  # specialized into the program
    if pytree._get_node_type(value) not in pytree.SUPPORTED_NODES:
        raise ExportError(
            f"export input {name} is a {type(value).__name__}, neither a tensor nor a pytree of tensors: "
            "register its type with torch.utils._pytree.register_pytree_node"
        )
    node, children, names, context = _children(value)
    builtin = node.type in pytree.BUILTIN_TYPES
    if builtin or not isinstance(value, ExportableInput):
        specs = [_describe(c, f"{name}.{n}", None, leaves) for c, n in zip(children, names, strict=True)]
        # a builtin container's spec is a container of the same kind; a registered type's is
        # the list of its flattened children (how torch.export matches dynamic_shapes to inputs)
        return node.unflatten_fn(specs, context) if builtin else specs
    declared_children = list(value.export_dynamic_dims())
    if len(declared_children) != len(children):
        raise ExportError(
            f"{type(value).__name__}.export_dynamic_dims gives {len(declared_children)} entries for its "
            f"{len(children)} pytree children (input {name})"
        )
    return [
        _describe(c, f"{name}.{n}", dict(d or {}), leaves)
        for c, n, d in zip(children, names, declared_children, strict=True)
    ]


def dynamic_shapes(example: tuple[Any, ...]) -> tuple[Any, ...]:
    """``torch.export``'s ``dynamic_shapes`` for positional inputs: every dynamic dimension ``Dim.DYNAMIC``.

    A tensor's dimension 0 is dynamic (its batch); an :class:`ExportableInput` names its own
    dynamic dimensions per child; containers (tuple, list, dict, other registered pytree types)
    apply the same rule to what they hold.

    Raises:
        ExportError: a dynamic dimension has size 0 or 1 in the example (it would be specialized),
            or an input is neither a tensor nor a pytree of tensors.
    """
    leaves: list[InputLeaf] = []
    return tuple(_describe(x, f"input_{i}", None, leaves) for i, x in enumerate(example))


def input_leaves(example: tuple[Any, ...]) -> list[InputLeaf]:
    """The tensors of positional inputs in pytree flatten order, named by path (``input_0.x``).

    Raises:
        ExportError: as :func:`dynamic_shapes`.
    """
    leaves: list[InputLeaf] = []
    for i, x in enumerate(example):
        _describe(x, f"input_{i}", None, leaves)
    return leaves


def _flatten(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, Mapping):
        return [t for v in out.values() for t in _flatten(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _flatten(v)]
    if hasattr(out, "numpy") or type(out).__module__.startswith("numpy"):
        return [torch.as_tensor(out)]
    raise ExportError(f"an output of type {type(out).__name__} is not a tensor or a sequence/mapping of tensors")


class _NoSampler(Exception):
    """An input offers no way to draw fresh values (verification falls back to the example)."""


def _fresh_tensor(x: torch.Tensor, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    shape = (batch_size, *x.shape[1:])
    if x.dtype.is_floating_point:
        std = float(x.float().std()) if x.numel() > 1 else 1.0
        mean = float(x.float().mean())
        return (torch.randn(shape, generator=generator) * (std or 1.0) + mean).to(x.dtype)
    if x.dtype == torch.bool:
        return torch.rand(shape, generator=generator) < 0.5
    low, high = int(x.min()), int(x.max())
    return torch.randint(low, high + 1, shape, generator=generator, dtype=x.dtype)


def _fresh(value: Any, batch_size: int, generator: torch.Generator) -> Any:
    if isinstance(value, torch.Tensor):
        return _fresh_tensor(value, batch_size, generator)
    if _is_constant(value):
        return value
    node_type = pytree._get_node_type(value)
    if node_type in pytree.BUILTIN_TYPES:
        node, children, _, context = _children(value)
        return node.unflatten_fn([_fresh(c, batch_size, generator) for c in children], context)
    if isinstance(value, ExportableInput):
        sample = value.export_sample(batch_size, generator)
        if sample is not None:
            return sample
    raise _NoSampler(type(value).__name__)


def fresh_inputs(example: Sequence[Any], batch_size: int, generator: torch.Generator) -> tuple[Any, ...] | None:
    """Random inputs shaped like ``example`` but with ``batch_size`` rows, or None where none can be drawn.

    Floating tensors are normal with the example's mean and standard deviation; integer tensors
    (token ids, say) are uniform over the range the example covers; booleans are random.
    Containers are filled the same way; an :class:`ExportableInput` draws its own sample. Any
    other registered pytree type (whose tensors may carry constraints a generic sampler cannot
    know, such as indices into each other) makes this return None.
    """
    try:
        return tuple(_fresh(x, batch_size, generator) for x in example)
    except _NoSampler:
        return None


def verify_artifact(
    model: torch.nn.Module,
    artifact: Artifact,
    example: Any,
    *,
    batch_sizes: Sequence[int] = (3, 5),
    rtol: float = 1e-3,
    atol: float = 1e-4,
    seed: int = 0,
) -> Verification:
    """Run ``artifact`` and ``model`` on fresh random inputs and compare each output.

    ``example`` holds the positional inputs (see :func:`as_example`). Fresh inputs come from
    :func:`fresh_inputs` for each of ``batch_sizes``; where the example
    holds an input no sampler can draw, both run on the example itself (``verified_on="example"``).
    An output passes when ``|a - e| <= atol + rtol * |e|`` element-wise for every input batch.
    ``max_rel`` is ``max |a - e| / max(|e|, atol)``, so it stays finite where eager's output is 0.

    Raises:
        ExportError: the artifact fails to run, or returns a different number or shape of outputs.
    """
    example = as_example(example)
    gen = torch.Generator().manual_seed(seed)
    draws: list[tuple[str, tuple[Any, ...]]] = []
    for b in batch_sizes:
        args = fresh_inputs(example, b, gen)
        if args is None:
            draws = []
            break
        draws.append((f"a batch of {b}", args))
    on_example = not draws
    if on_example:
        draws = [("the example", tuple(example))]
    names: list[str] = []
    shapes: list[tuple[int, ...]] = []
    abs_err: list[float] = []
    rel_err: list[float] = []
    ok: list[bool] = []
    for where, args in draws:
        with torch.no_grad():
            expected = _flatten(model(*args))
            try:
                got = _flatten(artifact.run(*args))
            except ExportError:
                raise
            except Exception as exc:
                raise ExportError(f"{artifact.format}: the exported model failed on {where}: {exc}") from exc
        if len(got) != len(expected):
            raise ExportError(f"{artifact.format}: {len(got)} outputs, eager gives {len(expected)}")
        for i, (e, a) in enumerate(zip(expected, got, strict=True)):
            a = torch.as_tensor(a).to(e.device)
            if tuple(a.shape) != tuple(e.shape):
                got_shape, want = tuple(a.shape), tuple(e.shape)
                raise ExportError(f"{artifact.format}: output {i} has shape {got_shape} on {where}, eager {want}")
            e64, a64 = e.double(), a.double()
            diff = (a64 - e64).abs()
            max_abs = float(diff.max()) if diff.numel() else 0.0
            max_rel = float((diff / e64.abs().clamp_min(atol)).max()) if diff.numel() else 0.0
            good = bool(torch.all(diff <= atol + rtol * e64.abs()))
            if len(names) <= i:
                names.append(f"output_{i}")
                shapes.append(tuple(e.shape[1:]))
                abs_err.append(max_abs)
                rel_err.append(max_rel)
                ok.append(good)
            else:
                abs_err[i], rel_err[i], ok[i] = max(abs_err[i], max_abs), max(rel_err[i], max_rel), ok[i] and good
    outputs = tuple(
        OutputDiff(name=n, shape=s, max_abs=a, max_rel=r, ok=g)
        for n, s, a, r, g in zip(names, shapes, abs_err, rel_err, ok, strict=True)
    )
    return Verification(
        ok=all(o.ok for o in outputs),
        rtol=rtol,
        atol=atol,
        batch_sizes=() if on_example else tuple(batch_sizes),
        outputs=outputs,
        verified_on="example" if on_example else "fresh",
    )
