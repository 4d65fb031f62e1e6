"""Text datasets: labelled text files, LM blocks, a streamed sharded corpus, and the stdlib corpus."""

from __future__ import annotations

from forge.nlp.datasets.classification import (
    LabelledText,
    TextClassificationDataset,
    build_text_classification,
    read_labelled_texts,
)
from forge.nlp.datasets.configs import StdlibTextConfig, TextBlocksConfig, TextClassificationConfig, TextStreamConfig
from forge.nlp.datasets.stdlib_text import LMWindows, build_stdlib_text, select_files, stdlib_root
from forge.nlp.datasets.streaming import TextStream, build_text_stream
from forge.nlp.datasets.text_blocks import TokenBlocks, build_text_blocks
from forge.nlp.datasets.tokenizing import tokenizer_from_run

__all__ = [
    "LMWindows",
    "LabelledText",
    "StdlibTextConfig",
    "TextBlocksConfig",
    "TextClassificationConfig",
    "TextClassificationDataset",
    "TextStream",
    "TextStreamConfig",
    "TokenBlocks",
    "build_stdlib_text",
    "build_text_blocks",
    "build_text_classification",
    "build_text_stream",
    "read_labelled_texts",
    "select_files",
    "stdlib_root",
    "tokenizer_from_run",
]
