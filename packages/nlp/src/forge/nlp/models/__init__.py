"""forge-nlp's models: GPT, BERT/RoBERTa-style encoders, T5, and LSTM/GRU models (imports torch on first use).

Importing this package is light: names are imported from their modules on first access.

Build them through the registry (``registry.build("model", "nlp.gpt", d_model=128)``) or directly::

    from forge.nlp.models import GPT, gpt_preset
    model = GPT(gpt_preset("gpt2-small"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.nlp.models.configs import PRESETS as PRESETS
    from forge.nlp.models.configs import EncoderClassifierConfig as EncoderClassifierConfig
    from forge.nlp.models.configs import EncoderConfig as EncoderConfig
    from forge.nlp.models.configs import GPTConfig as GPTConfig
    from forge.nlp.models.configs import LMCrossEntropyConfig as LMCrossEntropyConfig
    from forge.nlp.models.configs import RNNClassifierConfig as RNNClassifierConfig
    from forge.nlp.models.configs import RNNSeq2SeqConfig as RNNSeq2SeqConfig
    from forge.nlp.models.configs import T5Config as T5Config
    from forge.nlp.models.configs import encoder_preset as encoder_preset
    from forge.nlp.models.configs import gpt_preset as gpt_preset
    from forge.nlp.models.configs import t5_preset as t5_preset
    from forge.nlp.models.encoder import Encoder as Encoder
    from forge.nlp.models.encoder import EncoderClassifier as EncoderClassifier
    from forge.nlp.models.encoder import EncoderMLM as EncoderMLM
    from forge.nlp.models.gpt import GPT as GPT
    from forge.nlp.models.layers import DynamicKVCache as DynamicKVCache
    from forge.nlp.models.layers import KVCache as KVCache
    from forge.nlp.models.layers import StaticKVCache as StaticKVCache
    from forge.nlp.models.layers import record_attention as record_attention
    from forge.nlp.models.losses import LMCrossEntropy as LMCrossEntropy
    from forge.nlp.models.rnn import RNNAttention as RNNAttention
    from forge.nlp.models.rnn import RNNClassifier as RNNClassifier
    from forge.nlp.models.rnn import RNNSeq2Seq as RNNSeq2Seq
    from forge.nlp.models.t5 import T5 as T5

__all__ = [
    "GPT",
    "PRESETS",
    "T5",
    "DynamicKVCache",
    "Encoder",
    "EncoderClassifier",
    "EncoderClassifierConfig",
    "EncoderConfig",
    "EncoderMLM",
    "GPTConfig",
    "KVCache",
    "LMCrossEntropy",
    "LMCrossEntropyConfig",
    "RNNAttention",
    "RNNClassifier",
    "RNNClassifierConfig",
    "RNNSeq2Seq",
    "RNNSeq2SeqConfig",
    "StaticKVCache",
    "T5Config",
    "encoder_preset",
    "gpt_preset",
    "record_attention",
    "t5_preset",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
