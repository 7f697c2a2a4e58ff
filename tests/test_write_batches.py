"""The Ion -> P10 fast path: IonSource.batches() (runs of elements as lists),
P10Writer.write_all taking them, the writer gathering small writes while
large values stream, and the resolver's one handle on the source file."""

from __future__ import annotations

import io
import os

import pytest

import dicom2ion
from dicom2ion.bulk import Resolver
from dicom2ion.errors import WriteError
from dicom2ion.events import (
    DataSetStart, Element, End, FileMetaStart, Preamble, ValueChunk,
)
from dicom2ion.ion import codec
from dicom2ion.ion.source import _RUN, IonSource
from dicom2ion.p10 import write_events
from dicom2ion.p10.writer import _FLUSH, _SMALL, P10Writer

from conftest import good_corpus_files

EXPLICIT_LE = "1.2.840.10008.1.2.1"
HEAD = [Preamble(bytes(128)), FileMetaStart(0, True, True),
        Element(0x00020010, "UI", 20, 0, EXPLICIT_LE.encode() + b"\0"),
        DataSetStart(0, EXPLICIT_LE, True, True)]


class Recorder(io.RawIOBase):
    """A stream that keeps every write apart (copied: the writer may reuse buffers)."""

    def __init__(self):
        self.writes = []

    def writable(self):
        return True

    def write(self, data):
        self.writes.append(bytes(data))
        return len(data)


def _corpus_sample():
    files = good_corpus_files()
    return files[::16] if files else []


@pytest.mark.parametrize("path", _corpus_sample(), ids=lambda p: p.name)
def test_batches_are_the_events_and_write_the_same_bytes(path):
    doc = codec.loads(codec.dumps(dicom2ion.convert(path)))
    source = str(path)
    events = list(IonSource(doc, Resolver(source)).events())
    batches = list(IonSource(doc, Resolver(source)).batches())
    flat = [e for b in batches for e in (b if type(b) is list else [b])]
    assert flat == events
    assert not any(type(e) is list for e in events)
    runs = [b for b in batches if type(b) is list]
    assert runs and all(0 < len(r) <= _RUN and all(type(e) is Element for e in r) for r in runs)
    one_by_one = io.BytesIO()
    writer = P10Writer(one_by_one)
    for event in events:
        writer.write(event)
    writer.close()
    assert write_events(batches) == one_by_one.getvalue() == path.read_bytes()


def test_a_run_longer_than_the_limit_comes_in_several_lists():
    fields = ", ".join(f"'0009{n:04X}': UN::{{{{YWI=}}}}" for n in range(0x1000, 0x1000 + 2 * _RUN + 3))
    doc = codec.loads(("{dataSet: {" + fields + "}}").encode())
    runs = [b for b in IonSource(doc, Resolver()).batches() if type(b) is list]
    assert [len(r) for r in runs] == [_RUN, _RUN, 3]


def test_a_batch_is_checked_like_single_events():
    # a refused element inside a run is refused, as write() refuses it
    bad = Element(0x00100010, "PN", 1, 0, b"AB")       # length disagrees with the value
    with pytest.raises(WriteError, match="length 1 disagrees"):
        write_events(HEAD + [[Element(0x00080060, "CS", 2, 0, b"MR"), bad], End(0)])
    with pytest.raises(WriteError, match="not complete"):
        write_events(HEAD + [Element(0x7FE00010, "OB", 4, 0, None),
                             [Element(0x7FE00020, "OB", 2, 0, b"ab")], End(0)])
    with pytest.raises(WriteError, match="not an event"):
        write_events(HEAD + [[Element(0x00080060, "CS", 2, 0, b"MR"), "text"], End(0)])


def test_small_writes_are_gathered_and_large_values_stream():
    small = [Element(0x00090000 + n, "LO", 8, 0, b"%08d" % n) for n in range(0x10, 0x4000)]
    chunk = bytes(range(256)) * 1024                  # 256 KiB per chunk
    events = HEAD + [small, Element(0x7FE00010, "OB", 4 * len(chunk), 0, None)]
    events += [ValueChunk(chunk, False)] * 3 + [ValueChunk(chunk, True), End(0)]
    out = Recorder()
    P10Writer(out).write_all(events)
    data = b"".join(out.writes)
    assert data == write_events([e for b in events for e in (b if type(b) is list else [b])])
    # ~16k small elements reach the stream in a few gathered writes, none too big
    assert len(out.writes) < 16 + 4
    assert max(len(w) for w in out.writes) <= _FLUSH + _SMALL + len(chunk)
    # the value's chunks reach the stream as they come, not gathered
    assert sum(1 for w in out.writes if w == chunk) == 4


def test_nothing_waits_after_end():
    out = Recorder()
    P10Writer(out).write_all(HEAD + [Element(0x00080060, "CS", 2, 0, b"MR"), End(0)])
    assert b"".join(out.writes).endswith(b"\x08\x00\x60\x00CS\x02\x00MR")


def test_the_resolver_keeps_one_handle_and_closes_it(tmp_path):
    path = tmp_path / "src.bin"
    path.write_bytes(bytes(range(256)) * 8)
    import hashlib

    def ref(offset, length):
        return offset, length, hashlib.sha256(path.read_bytes()[offset:offset + length]).hexdigest()

    resolver = Resolver(str(path), keep_open=True)
    a = resolver(*ref(10, 100), "a")
    b = resolver(*ref(500, 1000), "b")
    first_a = next(a)                              # two values' chunks interleaved
    assert b"".join(b) == path.read_bytes()[500:1500]
    assert first_a + b"".join(a) == path.read_bytes()[10:110]
    fd = resolver._source_fp.fileno()
    assert os.fstat(fd)
    resolver.close()
    assert resolver._source_fp is None
    with pytest.raises(OSError):
        os.fstat(fd)
    os.unlink(path)                                # a missing source is named, as before
    with pytest.raises(dicom2ion.errors.BulkDataError, match="is missing"):
        resolver(*(0, 1, "0" * 64), "c")
