"""Loading PyTorch Geometric layer weights into forge's layers (no torch_geometric import).

PyG and forge name parameters differently; these functions rename (and, for GAT's attention
vectors, reshape) a PyG state dict so ``forge_layer.load_state_dict(...)`` accepts it:

==========  =========================================  ==========================================
layer       PyG key                                    forge key
==========  =========================================  ==========================================
GCNConv     ``lin.weight``, ``bias``                   ``linear.weight``, ``bias``
GATConv     ``lin.weight``, ``att_src`` (1, H, C),     ``linear.weight``, ``att_src`` (H, C),
            ``att_dst``, ``bias``                      ``att_dst``, ``bias``
SAGEConv    ``lin_l.*``, ``lin_r.weight``,             ``neighbor_linear.*``, ``root_linear.weight``,
            ``aggr_module.lstm.*``                     ``lstm.*``
GINConv     ``eps``, ``nn.*``                          ``eps``, ``mlp.*``
==========  =========================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from torch import Tensor

from forge.core.errors import CheckpointError

__all__ = ["PYG_LAYERS", "convert_pyg_state_dict"]

PygLayer = Literal["GCNConv", "GATConv", "SAGEConv", "GINConv"]
PYG_LAYERS: tuple[PygLayer, ...] = ("GCNConv", "GATConv", "SAGEConv", "GINConv")
"""The PyG layers whose weights forge can load."""

_RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "GCNConv": (("lin.", "linear."), ("bias", "bias")),
    "GATConv": (("lin.", "linear."), ("att_src", "att_src"), ("att_dst", "att_dst"), ("bias", "bias")),
    "SAGEConv": (("lin_l.", "neighbor_linear."), ("lin_r.", "root_linear."), ("aggr_module.lstm.", "lstm.")),
    "GINConv": (("eps", "eps"), ("nn.", "mlp.")),
}


def convert_pyg_state_dict(layer: PygLayer, state: Mapping[str, Tensor], *, prefix: str = "") -> dict[str, Tensor]:
    """Rename a PyG layer's state dict to the matching forge layer's keys.

    Args:
        layer: The PyG class name, one of :data:`PYG_LAYERS`.
        state: The PyG layer's ``state_dict()`` (or a model's, with ``prefix`` naming the layer).
        prefix: Only keys starting with it are converted, and it is stripped (e.g. ``"convs.0."``).

    Returns:
        A state dict for the forge layer of the same name.

    Raises:
        CheckpointError: ``layer`` is not supported, a key has no forge counterpart, or a tensor has
            a shape forge cannot use.

    Example:
        >>> forge_conv.load_state_dict(convert_pyg_state_dict("GCNConv", pyg_conv.state_dict()))  # doctest: +SKIP
    """
    if layer not in _RENAMES:
        raise CheckpointError(
            f"convert_pyg_state_dict: unsupported layer {layer!r}; supported: {', '.join(PYG_LAYERS)}"
        )
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        for old, new in _RENAMES[layer]:
            if name == old or (old.endswith(".") and name.startswith(old)):
                target = new + name[len(old) :]
                break
        else:
            raise CheckpointError(f"convert_pyg_state_dict: {layer} key {key!r} has no forge counterpart")
        if layer == "GATConv" and name in ("att_src", "att_dst"):
            if value.dim() != 3 or value.shape[0] != 1:
                raise CheckpointError(
                    f"convert_pyg_state_dict: {key} must be (1, heads, channels), got {tuple(value.shape)}"
                )
            value = value[0]
        out[target] = value
    if not out:
        raise CheckpointError(f"convert_pyg_state_dict: no {layer} keys under prefix {prefix!r}")
    return out
