"""Streaming readers: JSONL, CSV and safetensors shards; UTF-8 policy; errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from forge.core.data._configs import JsonlTextConfig
from forge.core.data._streaming import (
    CsvStream,
    JsonlStream,
    SafetensorsShardStream,
    build_jsonl_text,
    write_jsonl_shards,
    write_safetensors_shards,
)
from forge.core.errors import DataError


def test_jsonl_round_trip_with_unicode_and_nfc(tmp_path: Path) -> None:
    records = [{"text": "cafe\u0301 \U0001f600", "label": i} for i in range(5)]
    paths = write_jsonl_shards(records, tmp_path, shard_size=2)
    assert len(paths) == 3
    out = list(JsonlStream(paths, keys=("text", "label"), normalize="NFC"))
    assert out == [("caf\u00e9 \U0001f600", i) for i in range(5)]


def test_every_stream_takes_the_shared_keywords(tmp_path: Path) -> None:
    jsonl = write_jsonl_shards([{"text": "a"}], tmp_path / "j", shard_size=1)
    (tmp_path / "c.csv").write_text("x\n1\n", encoding="utf-8")
    shards = write_safetensors_shards(
        {"input": torch.zeros(2, 1), "target": torch.zeros(2)}, tmp_path / "s", shard_size=2
    )
    shared = {"shuffle_files": True, "seed": 7, "shuffle_buffer": 4, "rank": 1, "world_size": 2, "transform": str}
    for stream in (
        JsonlStream(jsonl, **shared),
        CsvStream([tmp_path / "c.csv"], columns={"x": "int"}, **shared),
        SafetensorsShardStream(shards, **shared),
    ):
        assert {k: getattr(stream, k) for k in shared} == shared
    with pytest.raises(TypeError, match="shufle_files"):
        JsonlStream(jsonl, shufle_files=True)


def test_jsonl_bad_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "\xff"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl, line 2: invalid UTF-8 at byte 10"):
        list(JsonlStream([path]))
    assert [r["text"] for r in JsonlStream([path], errors="replace")] == ["ok", "\ufffd"]


def test_jsonl_bad_json_and_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x.jsonl, line 3: invalid JSON"):
        list(JsonlStream([path]))
    with pytest.raises(DataError, match=r"line 1: missing key\(s\) \['b'\]"):
        list(JsonlStream([path], keys=("b",)))


def test_glob_and_missing_files(tmp_path: Path) -> None:
    write_jsonl_shards([{"a": 1}] * 3, tmp_path, shard_size=1)
    assert len(JsonlStream([str(tmp_path / "*.jsonl")]).files) == 3
    with pytest.raises(DataError, match="no file matches"):
        JsonlStream([str(tmp_path / "*.csv")])


def test_csv_stream_converts_declared_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('x,name,y\n1.5,"a, b",2\n2.5,"multi\nline",3\n', encoding="utf-8")
    rows = list(CsvStream([path], columns={"x": "float", "y": "int", "name": "str"}))
    assert rows == [(1.5, 2, "a, b"), (2.5, 3, "multi\nline")]
    path.write_text("x,y\nnan?,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.csv, row 2, column 'y'|row 2, column 'x'"):
        list(CsvStream([path], columns={"y": "int", "x": "int"}))


def test_csv_streams_rows_lazily_with_bom_and_names_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    good = "".join(f"{i},{i * 2}\n" for i in range(5000))  # ~40 KB before the bad byte
    path.write_bytes(b"\xef\xbb\xbfa,b\n" + good.encode() + b"7,\xff\n")
    rows = iter(CsvStream([path], columns={"a": "int", "b": "int"}))
    assert next(rows) == (0, 0)  # the first row comes before the file has been read to its end
    with pytest.raises(DataError, match=r"big.csv, line 5002: invalid UTF-8"):
        list(rows)
    replaced = list(CsvStream([path], columns={"b": "str"}, errors="replace"))
    assert len(replaced) == 5001 and replaced[-1] == ("\ufffd",)


def test_safetensors_shards_lazy_rows(tmp_path: Path) -> None:
    inputs = torch.arange(22, dtype=torch.float32).reshape(11, 2)
    paths = write_safetensors_shards({"input": inputs, "target": torch.arange(11)}, tmp_path, shard_size=4)
    stream = SafetensorsShardStream(paths)
    rows = list(stream)
    assert len(rows) == 11 and torch.equal(rows[5][0], inputs[5]) and int(rows[5][1]) == 5
    stream.configure(rank=1, world_size=2, batch_size=1)
    assert [int(t) for _, t in stream] == list(range(1, 11, 2))


def test_safetensors_shard_missing_key(tmp_path: Path) -> None:
    paths = write_safetensors_shards({"input": torch.zeros(3, 1)}, tmp_path, shard_size=3)
    with pytest.raises(DataError, match=r"lacks tensor\(s\) \['target'\]"):
        list(SafetensorsShardStream(paths))


def test_jsonl_text_builder_scrubs_and_records_lineage(tmp_path: Path) -> None:
    train = write_jsonl_shards(
        [{"text": f"mail me at u{i}@example.com", "label": i % 2} for i in range(6)], tmp_path / "tr", shard_size=4
    )
    splits = build_jsonl_text(JsonlTextConfig(train=[str(p) for p in train], scrub_pii=True, shuffle_buffer=2))
    assert isinstance(splits.train, JsonlStream)
    assert sorted(splits.train) == sorted([("mail me at <EMAIL>", i % 2) for i in range(6)])
    record = splits.lineage()
    assert record["splits"]["train"] == {"kind": "iterable", "size": None}
    assert record["extra"]["pipeline"]["params"]["transforms"][0]["name"] == "core.pii_scrub"
    again = build_jsonl_text(JsonlTextConfig(train=[str(p) for p in train]))
    assert again.info.fingerprint == splits.info.fingerprint


def test_jsonl_skips_bom_and_blank_lines_and_reads_a_last_line_without_newline(tmp_path: Path) -> None:
    from forge.core.data._streaming import JsonlStream

    path = tmp_path / "edge.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n  \n{"a": 2}\n{"a": 3}')
    assert list(JsonlStream([path], keys="a")) == [1, 2, 3]
    path.write_bytes(b'\n{"a": 5}')
    assert list(JsonlStream([path], keys="a")) == [5]


def test_jsonl_lines_with_blanks_around_crlf_and_trailing_data(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b'  {"a": 1}\r\n{"a": 2}   \n\t{"a": 3}\t\n')
    assert list(JsonlStream([path], keys="a")) == [1, 2, 3]
    path.write_bytes(b'{"a": 1}\n{"a": 2} {"a": 3}\n')
    with pytest.raises(DataError, match=r"w.jsonl, line 2: invalid JSON: Extra data"):
        list(JsonlStream([path], keys="a"))
    path.write_bytes(b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"w.jsonl, line 2: expected a JSON object, got list"):
        list(JsonlStream([path], keys="a"))
