"""Text datasets: labelled text files, LM blocks, a streamed sharded corpus, and the stdlib corpus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.nlp.datasets.classification import LabelledText as LabelledText
    from forge.nlp.datasets.classification import TextClassificationDataset as TextClassificationDataset
    from forge.nlp.datasets.classification import build_text_classification as build_text_classification
    from forge.nlp.datasets.classification import read_labelled_texts as read_labelled_texts
    from forge.nlp.datasets.configs import StdlibTextConfig as StdlibTextConfig
    from forge.nlp.datasets.configs import TextBlocksConfig as TextBlocksConfig
    from forge.nlp.datasets.configs import TextClassificationConfig as TextClassificationConfig
    from forge.nlp.datasets.configs import TextStreamConfig as TextStreamConfig
    from forge.nlp.datasets.stdlib_text import LMWindows as LMWindows
    from forge.nlp.datasets.stdlib_text import build_stdlib_text as build_stdlib_text
    from forge.nlp.datasets.stdlib_text import select_files as select_files
    from forge.nlp.datasets.stdlib_text import stdlib_root as stdlib_root
    from forge.nlp.datasets.streaming import TextStream as TextStream
    from forge.nlp.datasets.streaming import build_text_stream as build_text_stream
    from forge.nlp.datasets.text_blocks import TokenBlocks as TokenBlocks
    from forge.nlp.datasets.text_blocks import build_text_blocks as build_text_blocks
    from forge.nlp.datasets.tokenizing import tokenizer_from_run as tokenizer_from_run

__getattr__, __dir__ = lazy_exports(__name__, __file__)
