"""Learned tokenizers (byte-level BPE, WordPiece, char): Unicode round trips, special tokens,
surrogate refusal, the common interface, and save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core import registry
from forge.core.errors import ConfigError, DataError
from forge.nlp.tokenizers import (
    BPETokenizer,
    ByteTokenizer,
    CharTokenizer,
    TextTokenizer,
    WordPieceTokenizer,
    load_tokenizer,
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zürich, naïve café — déjà vu! 😀👍🏽 👨‍👩‍👧",
    "שלום עולם مرحبا بالعالم",  # RTL scripts
    "e\u0301 a\u0308 n\u0303 combining marks",
    "東京 北京 서울",
] * 20

# Text drawn from every plane and category, including combining marks, RTL letters and emoji,
# but never lone surrogates (category Cs), which no UTF-8 text holds.
UNICODE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train_from_texts(CORPUS, vocab_size=400, min_frequency=2)


@pytest.fixture(scope="module")
def wordpiece() -> WordPieceTokenizer:
    return WordPieceTokenizer.train_from_texts(CORPUS, vocab_size=300, min_frequency=1)


@pytest.fixture(scope="module")
def char() -> CharTokenizer:
    return CharTokenizer.train_from_texts(CORPUS, min_frequency=1, vocab_size=500)


@EXAMPLES
@given(UNICODE_TEXT)
def test_byte_level_bpe_round_trips_any_unicode_text(bpe: BPETokenizer, text: str) -> None:
    assert bpe.decode(bpe.encode(text)) == text


@EXAMPLES
@given(st.text(st.sampled_from(sorted(set("".join(CORPUS)))), max_size=60))
def test_char_round_trips_text_over_its_alphabet(char: CharTokenizer, text: str) -> None:
    assert char.covers(text)
    assert char.decode(char.encode(text)) == text


@EXAMPLES
@given(UNICODE_TEXT)
def test_byte_tokenizer_round_trips_any_unicode_text(text: str) -> None:
    tok = ByteTokenizer()
    assert tok.decode(tok.encode(text)) == text


def test_bpe_handles_emoji_sequences_rtl_and_combining_marks(bpe: BPETokenizer) -> None:
    for text in ("👨‍👩‍👧 family", "مرحبا", "e\u0301\u0302", "\r\n\t  spaced  ", "🏳️‍🌈", ""):
        assert bpe.decode(bpe.encode(text)) == text
    assert bpe.lossless and ByteTokenizer().lossless
    assert not wordpiece_is_lossless()


def wordpiece_is_lossless() -> bool:
    return WordPieceTokenizer.train_from_texts(["a b"], vocab_size=30, min_frequency=1).lossless


def test_char_maps_unseen_characters_to_unk(char: CharTokenizer) -> None:
    ids = char.encode("a\u2603")  # the snowman is not in the corpus
    assert ids[-1] == char.unk_id and not char.covers("\u2603")
    assert char.decode(ids) == "a"


def test_wordpiece_is_lossy_lowercases_and_normalizes_whitespace(wordpiece: WordPieceTokenizer) -> None:
    assert wordpiece.decode(wordpiece.encode("The   QUICK\tfox")) == "the quick fox"
    assert wordpiece.decode(wordpiece.encode("café")) == "cafe"  # accents stripped


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "char", "byte"])
def test_lone_surrogates_are_refused_with_their_position(
    kind: str, bpe: BPETokenizer, wordpiece: WordPieceTokenizer, char: CharTokenizer
) -> None:
    tok = {"bpe": bpe, "wordpiece": wordpiece, "char": char, "byte": ByteTokenizer()}[kind]
    with pytest.raises(DataError, match=r"character 2 .*surrogate"):
        tok.encode("ab\ud800c")
    with pytest.raises(DataError, match="text 1"):
        tok.encode_batch(["fine", "bad \udfff"])


def test_training_text_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(DataError, match="training text 1"):
        BPETokenizer.train_from_texts(["ok", "x\ud83d"], vocab_size=300)
    with pytest.raises(DataError, match="training text 0"):
        CharTokenizer.train_from_texts(["\udc00"])


def test_special_tokens_come_first_and_are_not_parsed_from_text_by_default(bpe: BPETokenizer) -> None:
    assert (bpe.pad_id, bpe.bos_id, bpe.eos_id) == (0, 1, 2)
    assert bpe.special_ids == {"<pad>": 0, "<bos>": 1, "<eos>": 2}
    ids = bpe.encode("say <eos> now")
    assert bpe.eos_id not in ids  # user text cannot inject control tokens
    assert bpe.decode(ids) == "say <eos> now"
    parsing = BPETokenizer.train_from_texts(CORPUS, vocab_size=400, parse_special=True)
    assert parsing.eos_id in parsing.encode("say <eos> now")


def test_bos_eos_and_max_length_frame_the_encoding() -> None:
    tok = BPETokenizer.train_from_texts(CORPUS, vocab_size=400, add_bos=True, add_eos=True, max_length=6)
    ids = tok.encode("The quick brown fox jumps over the lazy dog.")
    assert len(ids) == 6 and ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids).startswith("The")


def test_encode_batch_pads_to_the_longest_with_a_mask(bpe: BPETokenizer) -> None:
    ids, mask = bpe.encode_batch(["The fox", "", "The quick brown fox"])
    lengths = [len(bpe.encode(t)) for t in ["The fox", "", "The quick brown fox"]]
    assert ids.shape == (3, max(lengths)) and ids.dtype == torch.int64 and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == lengths
    assert bool((ids[~mask] == bpe.pad_id).all())


def test_decode_refuses_ids_outside_the_vocabulary(bpe: BPETokenizer, char: CharTokenizer) -> None:
    with pytest.raises(DataError, match="position 1"):
        bpe.decode([5, bpe.vocab_size])
    with pytest.raises(DataError, match="position 0"):
        char.decode([char.vocab_size + 3])
    with pytest.raises(DataError, match="1-D integer tensor"):
        bpe.decode(torch.zeros(2, 2, dtype=torch.long))


def test_learned_vocabulary_respects_vocab_size_and_merges_frequent_words(bpe: BPETokenizer) -> None:
    assert 256 + 3 < bpe.vocab_size <= 400
    # "the" is frequent in the corpus, so it is one token after training
    assert len(bpe.encode("the")) == 1 < len(bpe.encode("xqz"))


def test_every_tokenizer_implements_the_common_interface(
    bpe: BPETokenizer, wordpiece: WordPieceTokenizer, char: CharTokenizer
) -> None:
    for tok in (bpe, wordpiece, char, ByteTokenizer()):
        assert isinstance(tok, TextTokenizer)
        assert all(0 <= i < tok.vocab_size for i in tok.special_ids.values())


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "char", "byte"])
def test_save_and_load_give_identical_encodings(
    kind: str, tmp_path: Path, bpe: BPETokenizer, wordpiece: WordPieceTokenizer, char: CharTokenizer
) -> None:
    tok: TextTokenizer = {"bpe": bpe, "wordpiece": wordpiece, "char": char, "byte": ByteTokenizer(add_eos=True)}[kind]
    folder = tok.save(tmp_path / "tok")
    assert (folder / "forge_tokenizer.json").is_file()
    loaded = load_tokenizer(folder)
    assert type(loaded) is type(tok) and loaded.vocab_size == tok.vocab_size
    for text in CORPUS[:5]:
        assert loaded.encode(text) == tok.encode(text)
        assert loaded.decode(tok.encode(text)) == tok.decode(tok.encode(text))


def test_saved_bpe_is_a_standard_hugging_face_tokenizer_json(bpe: BPETokenizer, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    bpe.save(tmp_path)
    hf = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert hf.encode("The fox", add_special_tokens=False).ids == bpe.encode("The fox")


def test_loading_bad_folders_names_the_problem(tmp_path: Path, char: CharTokenizer) -> None:
    with pytest.raises(DataError, match="no forge_tokenizer.json"):
        load_tokenizer(tmp_path)
    char.save(tmp_path / "c")
    (tmp_path / "c" / "alphabet.json").write_text('["ab"]', encoding="utf-8")
    with pytest.raises(DataError, match="one-character strings"):
        load_tokenizer(tmp_path / "c")
    (tmp_path / "c" / "forge_tokenizer.json").write_text('{"name": "nlp.nope", "params": {}}', encoding="utf-8")
    with pytest.raises(DataError, match="unknown tokenizer 'nlp.nope'"):
        load_tokenizer(tmp_path / "c")


def test_registry_builds_tokenizers_trained_on_files(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS), encoding="utf-8")
    bpe = registry.build("transform", "nlp.bpe_tokenizer", files=[str(tmp_path / "*.txt")], vocab_size=350)
    assert bpe.decode(bpe.encode("naïve 😀")) == "naïve 😀"
    char = registry.build("transform", "nlp.char_tokenizer", files=[str(corpus)], min_frequency=1)
    assert char.decode(char.encode("Zürich")) == "Zürich"
    ids, target = bpe(("the fox", 3))
    assert ids.dtype == torch.int64 and target == 3


def test_files_that_are_missing_or_not_utf8_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="matches no file"):
        BPETokenizer(files=(str(tmp_path / "none*.txt"),))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"bad.txt:2: invalid UTF-8"):
        WordPieceTokenizer(files=(str(bad),), vocab_size=100)


def test_invalid_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="vocab_size 100 is smaller"):
        BPETokenizer.train_from_texts(["x"], vocab_size=100)
    with pytest.raises(ConfigError, match="distinct"):
        CharTokenizer.train_from_texts(["x"], pad_token="<s>", bos_token="<s>")
