"""forge-nlp: text tokenizers and text datasets.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    tokenizer = registry.build("transform", "nlp.byte_tokenizer", add_eos=True)
    splits = registry.build("dataset", "nlp.stdlib_text", seq_len=128)

or directly from :mod:`forge.nlp.tokenizers` and :mod:`forge.nlp.datasets`, which import torch.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.nlp.plugin`)."""

try:
    __version__: str = metadata.version("forge-nlp")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.2.0"
