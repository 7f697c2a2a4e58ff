"""Hostile inputs (issue 12): lengths far beyond the file, nesting past the
limit, many tiny fragments and items, lots of garbage after the data set, a
deflate bomb. Each runs in a child process (tools/hostile.py) with bounded
time and peak RSS and must end cleanly: an exact rebuild (a salvage read
keeps what it cannot read raw) or a project error. CI sizes run always;
large ones (a million levels, 2 GB of garbage, a 4 GB bomb) with --runslow.
Also the streaming of long trailing bytes that made the garbage case bounded."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import random
import sys
import tracemalloc

import pytest

from conftest import FIXTURES, ROOT
from dicom2ion import convert, load, dump, to_dicom_bytes
from dicom2ion.events import Damage, Trailing, ValueChunk
from dicom2ion.p10.reader import P10Reader
from dicom2ion.p10.source import iter_events


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load("hostile")


@pytest.mark.parametrize("name", sorted(hostile.GENERATORS))
def test_hostile_input_is_bounded_and_rebuilt_exactly(name):
    result = hostile.check(name, "small")
    assert result.kind == "exact", result
    assert result.ok, result


def test_deflate_bomb_memory_is_bounded():
    """256 MB inflated from a 250 KB stream: inflated 1 MiB at a time as it is
    parsed (it used to peak at ~540 MiB, the reader inflating each fed chunk whole)."""
    result = hostile.check("deflate-bomb", "small")
    assert result.peak_rss <= 300 << 20, result


def test_deep_nesting_is_one_problem_not_thousands(tmp_path):
    path = tmp_path / "deep.dcm"
    hostile.generate("deep-nesting", str(path), "small")
    damage = [e for e in iter_events(path, strict=False) if type(e) is Damage]
    assert [d.kind for d in damage] == ["too-deep", "truncated"], damage[:5]
    assert "nesting deeper than 64 levels" in damage[0].message


def test_a_length_beyond_the_file_keeps_the_bytes_there(tmp_path):
    path = tmp_path / "long.dcm"
    hostile.generate("length-beyond-file", str(path), "small")
    doc = convert(path)
    assert doc["damage"][0]["kind"] == "truncated"
    assert doc["wire"]["elements"]["7FE00010"]["length"] == 0xFFFFFFF0
    assert doc["dataSet"]["PixelData"]["length"] == 64


@pytest.mark.slow
@pytest.mark.parametrize("name", ["length-beyond-file", "deep-nesting", "garbage-after",
                                  "deflate-bomb"])
def test_large_hostile_input_is_bounded_and_clean(name):
    result = hostile.check(name, "large")
    assert result.ok, result


def test_generators_are_deterministic(tmp_path):
    for name in hostile.GENERATORS:
        a, b = tmp_path / "a.dcm", tmp_path / "b.dcm"
        hostile.generate(name, str(a), "small")
        hostile.generate(name, str(b), "small")
        assert a.read_bytes()[:1 << 16] == b.read_bytes()[:1 << 16], name
        assert a.stat().st_size == b.stat().st_size
        assert a.read_bytes()[128:132] == b"DICM"


def test_runner_reports_a_hang_and_a_crash(monkeypatch):
    monkeypatch.setattr(hostile, "_CHILD", "import time; time.sleep(30)")
    result = hostile.check("length-beyond-file", timeout=1)
    assert result.kind == "hang" and not result.ok
    monkeypatch.setattr(hostile, "_CHILD", "raise KeyError('boom')")
    result = hostile.check("length-beyond-file")
    assert result.kind == "crash" and "KeyError" in result.detail and not result.ok


# -- long trailing bytes stream ---------------------------------------------------------
@pytest.fixture(scope="module")
def garbage_file(tmp_path_factory):
    """example_ct.dcm and 3 MiB of random bytes whose first header has no VR."""
    junk = bytearray(random.Random(3).randbytes(3 << 20 | 5))
    junk[4:6] = b"\x00\x01"
    data = (FIXTURES / "example_ct.dcm").read_bytes() + bytes(junk)
    path = tmp_path_factory.mktemp("garbage") / "garbage.dcm"
    path.write_bytes(data)
    return path, data, len(data) - len(junk)


def test_long_trailing_bytes_arrive_in_chunks_whatever_the_feeding(garbage_file):
    path, data, start = garbage_file
    whole = list(iter_events(path))
    at = next(i for i, e in enumerate(whole) if type(e) is Trailing)
    assert whole[at] == Trailing(start, None)
    chunks = whole[at + 1:-1]
    assert all(type(c) is ValueChunk for c in chunks)
    assert [len(c.data) for c in chunks] == [1 << 20] * 3 + [5]
    assert [c.last for c in chunks] == [False] * 3 + [True]
    assert b"".join(c.data for c in chunks) == data[start:]
    for size in (1 << 16, 999_999, len(data)):
        pieces = (data[i:i + size] for i in range(0, len(data), size))
        assert list(iter_events(pieces)) == whole, size


def test_reader_does_not_hold_long_trailing_bytes():
    reader = P10Reader()
    head = (FIXTURES / "example_ct.dcm").read_bytes()
    block = bytearray(random.Random(4).randbytes(1 << 20))
    block[4:6] = b"\x00\x01"
    tracemalloc.start()
    try:
        reader.feed(head)
        for event in reader.events():
            pass
        for _ in range(48):
            reader.feed(bytes(block))
            for event in reader.events():
                pass
        reader.close()
        for event in reader.events():
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20, peak           # 48 MiB of trailing bytes went through


def test_long_trailing_bytes_are_a_bulk_reference(garbage_file, tmp_path):
    path, data, start = garbage_file
    doc = convert(path)
    ref = doc["wire"]["trailing"]
    tail = data[start:]
    assert ref == {"dataOffset": start, "length": len(tail),
                   "sha256": hashlib.sha256(tail).hexdigest()}
    buffer = io.BytesIO()
    dump(doc, buffer)
    assert len(buffer.getvalue()) < 64 << 10          # not inline in the Ion
    assert to_dicom_bytes(load(buffer.getvalue()), source=str(path)) == data
    # --bulk-dir keeps them too, and --inline-all inlines them
    bulk = tmp_path / "bulk"
    doc = convert(path, bulk_dir=str(bulk))
    assert to_dicom_bytes(doc, bulk_dir=str(bulk)) == data
    doc = convert(path, inline_all=True)
    assert bytes(doc["wire"]["trailing"]) == tail
    assert to_dicom_bytes(doc) == data
