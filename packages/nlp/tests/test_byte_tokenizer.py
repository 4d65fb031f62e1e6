"""The byte-level tokenizer: lossless round trip, special tokens, truncation, padding, serialization."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from forge.core.config import structure, unstructure
from forge.core.data._compose import from_config
from forge.core.errors import ConfigError, DataError
from forge.nlp.tokenizers import ByteTokenizer, ByteTokenizerConfig


@given(st.text())
def test_decode_inverts_encode_for_any_unicode_text(text: str) -> None:
    tok = ByteTokenizer(add_bos=True, add_eos=True)
    ids = tok.encode(text)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert ids[1:-1] == list(text.encode("utf-8"))
    assert tok.decode(ids) == text


def test_ids_are_utf8_bytes_then_specials() -> None:
    tok = ByteTokenizer(extra_special_tokens=("<sep>",))
    assert tok.encode("hé€😀") == list("hé€😀".encode())
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.token_to_id("<sep>")) == (256, 257, 258, 259)
    assert tok.vocab_size == 260


def test_special_strings_stay_plain_bytes_unless_parsing_is_on() -> None:
    plain = ByteTokenizer()
    assert plain.encode("a<eos>") == list(b"a<eos>")
    parsing = ByteTokenizer(parse_special=True, extra_special_tokens=("<eos><eos>",))
    ids = parsing.encode("a<eos>b<eos><eos>")
    assert ids == [97, 258, 98, 259]  # the longer special token wins
    assert parsing.decode(ids, skip_special=False) == "a<eos>b<eos><eos>"
    assert parsing.decode(ids) == "ab"


def test_truncation_cuts_at_a_character_boundary_and_padding_fills() -> None:
    tok = ByteTokenizer(max_length=6, add_eos=True, padding=True)
    ids = tok.encode("ab€€")  # 2 + 3 + 3 bytes; 5 fit, but the second € would be cut
    assert ids == [97, 98, 0xE2, 0x82, 0xAC, tok.eos_id]
    tok2 = ByteTokenizer(max_length=6, padding=True)
    ids2 = tok2.encode("a€€")
    assert ids2 == [97, 0xE2, 0x82, 0xAC, tok2.pad_id, tok2.pad_id]
    assert tok2.decode(ids2) == "a€"


def test_long_text_without_truncation_is_refused() -> None:
    tok = ByteTokenizer(max_length=3, truncation=False)
    with pytest.raises(DataError, match="more than the 3"):
        tok.encode("abcd")


def test_lone_surrogate_and_bad_ids_are_refused_with_position() -> None:
    tok = ByteTokenizer()
    with pytest.raises(DataError, match="character 1"):
        tok.encode("a\ud800")
    with pytest.raises(DataError, match="position 1"):
        tok.decode([65, 9999])


def test_invalid_utf8_follows_the_error_policy() -> None:
    assert ByteTokenizer().decode([0xE2, 0x82]) == "\ufffd"
    with pytest.raises(DataError, match="invalid UTF-8"):
        ByteTokenizer(errors="strict").decode([0xE2, 0x82])


def test_batch_pads_to_longest_with_mask() -> None:
    tok = ByteTokenizer(add_eos=True)
    ids, mask = tok.encode_batch(["ab", "", "é"])
    assert ids.shape == (3, 3) and ids.dtype == torch.int64
    assert ids[1].tolist() == [tok.eos_id, tok.pad_id, tok.pad_id]
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, True]]
    assert tok.decode(ids[2]) == "é"


def test_call_encodes_text_and_keeps_targets() -> None:
    tok = ByteTokenizer()
    ids, target = tok(("hi", 3))
    assert ids.tolist() == [104, 105] and target == 3
    with pytest.raises(DataError, match="expected a str"):
        tok(42)


def test_config_is_validated_and_round_trips() -> None:
    with pytest.raises(ConfigError, match="padding=true needs max_length"):
        ByteTokenizer(padding=True)
    with pytest.raises(ConfigError, match="repeated"):
        ByteTokenizer(extra_special_tokens=("<pad>",))
    config = ByteTokenizerConfig(extra_special_tokens=("<sep>",), max_length=8, add_bos=True)
    assert structure(unstructure(config), ByteTokenizerConfig) == config
    tok = ByteTokenizer(config)
    again = from_config(tok.to_config())
    assert isinstance(again, ByteTokenizer) and again.config == config
