"""forge-nlp's entry-point module (``forge.plugins``: ``nlp = "forge.nlp.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

__all__ = ["FORGE_PLUGIN_API", "forge_register_datasets", "forge_register_transforms"]

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the byte-level tokenizer."""
    register(
        "byte_tokenizer",
        builder="forge.nlp.tokenizers.byte:ByteTokenizer",
        config="forge.nlp.tokenizers.configs:ByteTokenizerConfig",
        summary="Byte-level UTF-8 tokenizer (256 byte ids + special tokens; lossless for any Unicode text)",
        tags=("text", "tokenizer"),
    )


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the standard-library text corpus."""
    register(
        "stdlib_text",
        builder="forge.nlp.datasets.stdlib_text:build_stdlib_text",
        config="forge.nlp.datasets.configs:StdlibTextConfig",
        summary="Byte-level language modelling on Python's own standard-library sources (no download)",
        tags=("text", "language-modeling"),
    )
