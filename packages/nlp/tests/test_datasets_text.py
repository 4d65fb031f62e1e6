"""Text datasets: validated classification files, LM blocks, and the streamed sharded corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from forge.core import registry
from forge.core.data import LoaderConfig, build_loader
from forge.core.errors import DataError
from forge.nlp.datasets import (
    TextClassificationConfig,
    TextStream,
    TokenBlocks,
    build_text_classification,
    read_labelled_texts,
)
from forge.nlp.tokenizers import ByteTokenizer, load_tokenizer


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- classification files: every refusal names the file and the line ---------------------------------


@pytest.mark.parametrize(
    ("name", "content", "options", "message"),
    [
        ("a.csv", "text,label\nhello,0\nworld,5\n", {"num_classes": 3}, r"a.csv:3: label 5 is out of range for 3"),
        ("a.csv", "text,label\nhello,-1\n", {}, r"a.csv:2: label -1 is negative"),
        ("a.csv", "text,label\nhello,cat\n", {}, r"a.csv:2: label 'cat' is not an integer"),
        ("a.csv", "text,label\nhello,nan\n", {}, r"a.csv:2: label 'nan' is NaN"),
        ("a.csv", "text,label\nhello,1.5\n", {}, r"a.csv:2: label '1.5' is a float"),
        ("a.csv", "", {}, r"a.csv: the file is empty"),
        ("a.csv", "text,label\n", {}, r"a.csv: the file holds no rows"),
        ("a.csv", "body,label\nx,1\n", {}, r"a.csv:1: no column 'text'"),
        ("a.csv", 'text,label\n"multi\nline",0\n" ",1\n', {}, r"a.csv:4: text is empty"),
        ("a.csv", "text,label\nhello,dog\n", {"label_names": ("cat", "bird")}, r"a.csv:2: label 'dog' is not one of"),
        ("a.jsonl", '{"text": "ok", "label": 1}\n{"text": 42, "label": 0}\n', {}, r"a.jsonl:2: text 42 is a int"),
        ("a.jsonl", '{"text": "ok", "label": "1"}\n', {}, r"a.jsonl:1: label '1' is a string"),
        ("a.jsonl", '{"text": "ok", "label": 1.0}\n', {}, r"a.jsonl:1: label 1.0 is a float"),
        ("a.jsonl", '{"text": "ok", "label": NaN}\n', {}, r"a.jsonl:1: label nan is NaN"),
        ("a.jsonl", '{"text": "ok", "label": true}\n', {}, r"a.jsonl:1: label True is a boolean"),
        ("a.jsonl", '{"text": "ok", "label": 0}\n\n{"text": "ok"}\n', {}, r"a.jsonl:3: no key 'label'"),
        ("a.jsonl", '{"text": "ok", "label": 0}\n{oops\n', {}, r"a.jsonl:2: not valid JSON"),
        ("a.jsonl", '{"text": "ok", "label": 3}\n', {"label_names": ("x", "y")}, r"a.jsonl:1: label 3 is a int"),
        ("a.txt", "0\tfine\nno tab here\n", {}, r"a.txt:2: expected 'label<TAB>text'"),
    ],
)
def test_bad_rows_are_refused_naming_file_and_line(
    tmp_path: Path, name: str, content: str, options: dict[str, object], message: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message):
        read_labelled_texts(path, **options)  # type: ignore[arg-type]  # options are typed by the cases


def test_invalid_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"0\tfine\n1\tbad \xfe\n")
    with pytest.raises(DataError, match=r"a.txt:2: invalid UTF-8"):
        read_labelled_texts(path)


def test_rows_of_every_format_are_read_with_names_and_quoting(tmp_path: Path) -> None:
    csv_rows = read_labelled_texts(write(tmp_path / "a.csv", 'text,label\n"Hi, there",pos\nbad,neg\n'),
                                   label_names=("neg", "pos"))
    assert [(r.text, r.label) for r in csv_rows] == [("Hi, there", 1), ("bad", 0)]
    jsonl = write(tmp_path / "a.jsonl", "\n".join(json.dumps({"t": f"s{i} 😀", "y": i % 2}) for i in range(3)))
    assert [r.label for r in read_labelled_texts(jsonl, text_field="t", label_field="y")] == [0, 1, 0]
    lines = read_labelled_texts(write(tmp_path / "a.tsv", "2\tthree words here\n0\tnone\n"))
    assert [(r.text, r.label, r.where.endswith(":1")) for r in lines][0] == ("three words here", 2, True)


def _classification_file(tmp_path: Path, n: int = 60) -> Path:
    rows = [{"text": f"{'good great fine' if i % 2 else 'bad awful poor'} item {i}", "label": i % 2} for i in range(n)]
    return write(tmp_path / "data.jsonl", "\n".join(json.dumps(r) for r in rows))


def test_classification_splits_are_deterministic_and_padded(tmp_path: Path) -> None:
    path = _classification_file(tmp_path)
    config = TextClassificationConfig(path=str(path), tokenizer="bpe", vocab_size=300, max_length=16,
                                      save_tokenizer=str(tmp_path / "tok"))
    splits = build_text_classification(config)
    assert splits.info.num_classes == 2 and splits.info.task == "text-classification"
    assert (len(splits.train), len(splits.val), len(splits.test)) == (48, 6, 6)  # type: ignore[arg-type]
    ids, label = splits.train[0]
    assert ids.shape == (16,) and ids.dtype == torch.int64 and label.dtype == torch.int64
    tok = load_tokenizer(tmp_path / "tok")
    assert ids[0] == tok.bos_id and tok.eos_id in ids.tolist()
    again = build_text_classification(config)
    assert splits.info.fingerprint == again.info.fingerprint
    assert torch.equal(again.val[0][0], splits.val[0][0])  # type: ignore[index]
    other = build_text_classification(TextClassificationConfig(path=str(path), seed=1, vocab_size=300))
    assert other.info.fingerprint != splits.info.fingerprint


def test_classification_through_the_registry_with_variable_lengths(tmp_path: Path) -> None:
    path = _classification_file(tmp_path)
    splits = registry.build("dataset", "nlp.text_classification", path=str(path), tokenizer="char",
                            pad_to_max_length=False, val_fraction=0.0, test_fraction=0.0)
    lengths = {int(splits.train[i][0].numel()) for i in range(len(splits.train))}
    assert len(lengths) > 1 and splits.val is None


# -- LM blocks ----------------------------------------------------------------------------------------


def test_text_blocks_pack_files_into_shifted_windows(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"doc{i}.txt", f"document {i} says hello to the world.\n" * 20)
    splits = registry.build("dataset", "nlp.text_blocks", files=[str(tmp_path / "*.txt")], tokenizer="byte",
                            block_size=32, stride=16, val_fraction=0.2)
    x, y = splits.train[1]
    assert x.shape == y.shape == (32,) and torch.equal(x[1:], y[:-1])
    tok = ByteTokenizer()
    blocks = splits.train
    assert isinstance(blocks, TokenBlocks)
    assert tok.decode(blocks.ids[:20]) == "document 0 says hell"
    assert isinstance(splits.val, TokenBlocks) and len(splits.val) >= 1
    stream = torch.cat([blocks.ids, splits.val.ids])
    assert int((stream == tok.eos_id).sum()) == 3  # every file (document) ends with eos


def test_text_blocks_refuse_text_too_short(tmp_path: Path) -> None:
    write(tmp_path / "tiny.txt", "hi")
    with pytest.raises(DataError, match="too few for one block"):
        registry.build("dataset", "nlp.text_blocks", files=[str(tmp_path / "tiny.txt")], tokenizer="byte",
                       block_size=64, val_fraction=0.0)


# -- streaming ----------------------------------------------------------------------------------------


def _shards(tmp_path: Path, files: int = 4, lines: int = 10) -> list[Path]:
    paths = []
    for f in range(files):
        paths.append(write(tmp_path / f"shard{f}.txt", "".join(f"file {f} line {i}\n" for i in range(lines))))
    return paths


def _docs(batches: list[tuple[torch.Tensor, torch.Tensor]], tok: ByteTokenizer) -> list[str]:
    return [tok.decode(row) for x, _ in batches for row in x]


def test_stream_shards_over_workers_without_overlap_and_in_seeded_order(tmp_path: Path) -> None:
    tok = ByteTokenizer(add_bos=True, add_eos=True)
    files = _shards(tmp_path)
    stream = TextStream(files, tok, max_length=24, seed=3, shuffle_buffer=8)
    single = _docs(list(build_loader(stream, LoaderConfig(batch_size=4, num_workers=0), seed=3)), tok)
    assert sorted(single) == sorted(f"file {f} line {i}" for f in range(4) for i in range(10))
    two = TextStream(files, tok, max_length=24, seed=3, shuffle_buffer=8)
    loader = DataLoader(two, batch_size=4, num_workers=2)
    two.configure(rank=0, world_size=1, batch_size=4)
    workers = _docs(list(loader), tok)
    assert sorted(workers) == sorted(single) and len(set(workers)) == 40  # every document exactly once
    again = TextStream(files, tok, max_length=24, seed=3, shuffle_buffer=8)
    assert _docs(list(build_loader(again, LoaderConfig(batch_size=4, num_workers=0), seed=3)), tok) == single
    reseeded = TextStream(files, tok, max_length=24, seed=4, shuffle_buffer=8)
    assert _docs(list(build_loader(reseeded, LoaderConfig(batch_size=4, num_workers=0), seed=4)), tok) != single


def test_stream_splits_ranks_disjointly(tmp_path: Path) -> None:
    tok = ByteTokenizer(add_bos=True, add_eos=True)
    files = _shards(tmp_path, files=3, lines=5)
    seen = []
    for rank in range(2):
        stream = TextStream(files, tok, max_length=24, seed=0, rank=rank, world_size=2)
        seen.append({tok.decode(x) for x, _ in stream})
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 15


def test_stream_samples_are_next_token_pairs_with_ignored_padding(tmp_path: Path) -> None:
    tok = ByteTokenizer(add_bos=True, add_eos=True)
    stream = TextStream(_shards(tmp_path, files=1, lines=1), tok, max_length=24, shuffle_files=False)
    x, y = next(iter(stream))
    ids = tok.encode("file 0 line 0")
    assert x.shape == y.shape == (23,)
    assert x[: len(ids)].tolist() == ids and y[: len(ids) - 1].tolist() == ids[1:]
    assert bool((y[len(ids) - 1 :] == -100).all())


def test_stream_builds_from_the_registry_and_reports_bad_utf8(tmp_path: Path) -> None:
    _shards(tmp_path, files=2, lines=30)
    splits = registry.build("dataset", "nlp.text_stream", files=[str(tmp_path / "*.txt")], tokenizer="bpe",
                            vocab_size=300, max_length=16, min_frequency=1)
    x, y = next(iter(splits.train))
    assert x.shape == (15,) and splits.info.extra["vocab_size"] <= 300
    (tmp_path / "shard9.txt").write_bytes(b"ok\n\xff\n")
    stream = TextStream([tmp_path / "shard9.txt"], ByteTokenizer(), max_length=8)
    with pytest.raises(DataError, match=r"shard9.txt:2: invalid UTF-8"):
        list(stream)


def test_separate_val_and_test_files_and_package_resources(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\n" + "".join(f"sample {i},{i % 3}\n" for i in range(30)))
    val = write(tmp_path / "val.csv", "text,label\nheld out,2\n")
    test = write(tmp_path / "test.csv", "text,label\nlast one,1\nand two,0\n")
    splits = registry.build("dataset", "nlp.text_classification", path=str(train), val_path=str(val),
                            test_path=str(test), tokenizer="wordpiece", vocab_size=60, min_frequency=1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (30, 1, 2)  # type: ignore[arg-type]
    assert splits.info.num_classes == 3
    shipped = read_labelled_texts("forge.nlp.recipes:text-classification.csv", label_names=("food", "sport", "weather"))
    assert len(shipped) == 300 and shipped[0].where.endswith("text-classification.csv:2")
    with pytest.raises(DataError, match="no package 'forge.nope'"):
        read_labelled_texts("forge.nope:data.csv")


def test_tokenizer_from_run_refuses_runs_it_cannot_rebuild(tmp_path: Path) -> None:
    from forge.nlp.datasets import tokenizer_from_run

    with pytest.raises(DataError, match="cannot read the run's data config"):
        tokenizer_from_run(tmp_path)
    write(tmp_path / "config.json", json.dumps({"data": {"name": "vision.digits"}}))
    with pytest.raises(DataError, match="'vision.digits' is not one of"):
        tokenizer_from_run(tmp_path)
