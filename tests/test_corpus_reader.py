"""The streaming P10 reader against the corpus, with pydicom as an
independent oracle for the element tree.

pydicom is used here only as a reference reader; the package never imports
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import signal
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import BROKEN, CORPUS, broken_corpus_files, good_corpus_files
from dicom2ion import DicomParseError
from dicom2ion.dictionary import is_private, vr_of
from dicom2ion.events import (
    UNDEFINED, DataSetStart, Element, End, Fragment, Trailing, ValueChunk,
)
from dicom2ion.p10.reader import P10Reader
from dicom2ion.p10.source import aiter_events, iter_events
from dicom2ion.p10.writer import write_events
from oracle import dedupe_keep_last, multi_vrs, pydicom_tree, reader_tree, tag_str

pytest.importorskip("pydicom")

GOOD = good_corpus_files()
BROKEN_FILES = broken_corpus_files()
needs_corpus = pytest.mark.skipif(not GOOD, reason=f"corpus not found at {CORPUS} "
                                  "(set DICOM2ION_CORPUS)")
# Small files, for the tests that feed one byte at a time or try every cut.
SMALL = [p for p in GOOD if p.stat().st_size <= 8 * 1024]
MEDIUM = [p for p in GOOD if p.stat().st_size <= 256 * 1024]

# Inline limits the reader handles; a limit shorter than the Transfer Syntax
# UID value (up to 64 bytes) hits a bug, see test_tiny_inline_limit_keeps_transfer_syntax.
SAFE_LIMITS = (0, 1, 16, 64, 65, 100, 255)

_DATA: dict = {}


def data_of(path: Path) -> bytes:
    data = _DATA.get(path)
    if data is None:
        data = _DATA[path] = path.read_bytes()
    return data


def _ids(paths):
    return [p.name for p in paths]


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail (instead of hanging) when the body runs longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"no result after {seconds} s: the reader hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def coalesce(events) -> list:
    """Events with every chunked value (Element, Fragment or Trailing
    followed by ValueChunk events) folded back into one event holding the
    whole value: what a reader with an unlimited inline limit yields."""
    out: list = []
    pending = None
    parts: list = []
    for event in events:
        if type(event) is ValueChunk:
            assert pending is not None, "a ValueChunk without a value to belong to"
            parts.append(event.data)
            if event.last:
                out.append(pending._replace(value=b"".join(parts)))
                pending, parts = None, []
            continue
        assert pending is None, f"{event!r} arrived before the last ValueChunk"
        if type(event) in (Element, Fragment, Trailing) and event.value is None:
            pending = event
            continue
        out.append(event)
    assert pending is None, "the events end inside a chunked value"
    return out


def fed_events(data: bytes, sizes, **options) -> list:
    """Events of a P10Reader fed ``data`` in pieces of the given sizes
    (cycled), collecting the events after every feed."""
    reader = P10Reader(**options)
    events: list = []
    pos, i = 0, 0
    sizes = list(sizes) or [len(data) or 1]
    while pos < len(data):
        size = max(1, sizes[i % len(sizes)])
        reader.feed(data[pos:pos + size])
        events.extend(reader.events())
        pos += size
        i += 1
    reader.close()
    events.extend(reader.events())
    return events


def check_valid_or_parse_error(data: bytes, *, timeout: float = 10.0, **options) -> list:
    """Read ``data`` as a whole and as a stream of small chunks: each must
    either give events ending in End that write back to ``data``, or raise
    DicomParseError; never another exception, never hang. Returns the
    events (or [] on a parse error)."""
    step = max(7, len(data) // 2000)
    results = []
    for feed in ("bytes", "chunks"):
        with deadline(timeout):
            try:
                if feed == "bytes":
                    events = list(iter_events(data, **options))
                else:
                    events = list(iter_events(
                        (data[i:i + step] for i in range(0, len(data), step)), **options))
            except DicomParseError as exc:
                assert str(exc), "a DicomParseError with no message"
                results.append(None)
                continue
        assert events and type(events[-1]) is End, events[-3:]
        assert sum(type(e) is End for e in events) == 1
        # (a deflated data set that no zlib level reproduces is written from
        # its original compressed bytes, as the converter does)
        raw = lambda info: [data[info.offset:info.offset + info.length]]  # noqa: E731
        assert write_events(events, raw_deflated=raw) == data, \
            "a stream that parsed does not write back"
        results.append(events)
    # whether the input is valid does not depend on how it arrives (a known
    # total size only makes impossible lengths fail sooner)
    assert (results[0] is None) == (results[1] is None), \
        "valid as a whole but not in chunks, or the reverse"
    assert results[0] == results[1]
    return results[0] or results[1] or []


# --------------------------------------------------------------------------
# the element tree against pydicom


def _vr_matches(ours, theirs, explicit: bool) -> bool:
    """Whether our VR for an element agrees with pydicom's.

    Explicit VR: the VR is on the wire and both must report it, with one
    exception: a UN of undefined length is, by PS3.5 6.2.2, a sequence in
    implicit VR little endian. We keep the wire VR 'UN' (it must be written
    back), pydicom reports 'SQ'.

    Implicit VR: each reader consults its own dictionary.
    * private tags: pydicom looks the tag up in its private dictionary (via
      the private creator), we do not; ours must be what our dictionary
      gives for the bare tag ('UN', 'LO' for a creator, 'UL' for a group
      length) or 'SQ' when the value turned out to hold items.
    * multi-VR standard tags (OB/OW, US/SS, ...): pydicom reports the
      ambiguous VR ('OB or OW') unresolved; we pick one (OW for implicit
      'OB or OW' per PS3.5 A.1, else the dictionary's first). Both must
      name VRs the dictionary allows for the tag.
    """
    if ours.vr == theirs.vr:
        return True
    if explicit:
        return ours.vr == "UN" and theirs.vr == "SQ" and ours.length == UNDEFINED
    if is_private(ours.tag):
        return ours.vr in (vr_of(ours.tag), "SQ")
    allowed = multi_vrs(ours.tag)
    return (len(allowed) > 1 and ours.vr in allowed
            and all(v in allowed for v in theirs.vr.split(" or ")))


def compare_nodes(ours, theirs, explicit: bool, where: str) -> None:
    """Assert that two node lists describe the same elements.

    pydicom keeps one element per tag (a repeated tag keeps the last one
    read) and we list them in file order; ``dedupe_keep_last`` applies the
    same rule to ours, and the oracle sorts pydicom's by file offset, so
    the tags compare in file order.
    """
    ours = dedupe_keep_last(ours)
    our_tags = [tag_str(n.tag) for n in ours]
    their_tags = [tag_str(n.tag) for n in theirs]
    assert our_tags == their_tags, f"{where}: tags differ"
    for a, b in zip(ours, theirs):
        here = f"{where}/{tag_str(a.tag)}"
        assert _vr_matches(a, b, explicit), f"{here}: VR {a.vr} vs pydicom's {b.vr}"
        assert a.length == b.length, f"{here}: length {a.length:#x} vs pydicom's {b.length:#x}"
        assert (a.fragments is None) == (b.fragments is None), f"{here}: encapsulated?"
        if a.fragments is not None:
            # the first fragment is the basic offset table in both views
            assert a.fragments == b.fragments, f"{here}: fragment lengths"
        assert (a.items is None) == (b.items is None), \
            f"{here}: a sequence for {'us' if a.items is not None else 'pydicom'} only"
        if a.items is None:
            continue
        assert len(a.items) == len(b.items), f"{here}: number of items"
        # items of a UN sequence (and of a private sequence found in implicit
        # VR) are implicit VR little endian
        inner_explicit = explicit and a.vr == "SQ"
        for i, (x, y) in enumerate(zip(a.items, b.items)):
            assert x.undefined == y.undefined, f"{here}/{i}: undefined item length?"
            compare_nodes(x.nodes, y.nodes, inner_explicit, f"{here}/{i}")


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_element_tree_matches_pydicom(path):
    ours = reader_tree(iter_events(path))
    theirs = pydicom_tree(path)
    assert (ours.explicit, ours.little) == (theirs.explicit, theirs.little), "data set encoding"
    compare_nodes(ours.meta, theirs.meta, True, "meta")
    compare_nodes(ours.body, theirs.body, ours.explicit, "dataset")


@needs_corpus
def test_tree_comparison_is_not_vacuous():
    """The corpus exercises what the tree comparison claims to check."""
    seqs = items = fragments = deep = 0
    encodings = set()

    def walk(nodes, depth):
        nonlocal seqs, items, fragments, deep
        for n in nodes:
            if n.items is not None:
                seqs += 1
                items += len(n.items)
                deep = max(deep, depth + 1)
                for item in n.items:
                    walk(item.nodes, depth + 1)
            if n.fragments:
                fragments += len(n.fragments)

    for path in GOOD:
        tree = reader_tree(iter_events(path))
        encodings.add((tree.explicit, tree.little))
        walk(tree.body, 0)
    assert encodings == {(True, True), (False, True), (True, False)}
    assert seqs > 100 and items > 100 and fragments > 100 and deep >= 3


@needs_corpus
def test_tree_comparison_catches_differences():
    """compare_nodes is not vacuous: a changed tag, VR, length, item or
    fragment is reported."""
    # files with sequences (nested, private) and with encapsulated pixel data
    wanted = ("nested_priv_SQ", "rtplan", "JPEG2000", "emri_small_jpeg_2k_lossless")
    chosen = [p for p in GOOD if any(w in p.name for w in wanted)][:5] or GOOD[:3]
    for path in chosen:
        ours = reader_tree(iter_events(path))
        theirs = pydicom_tree(path)
        compare_nodes(ours.body, theirs.body, ours.explicit, "dataset")
        body = list(ours.body)
        for i, node in enumerate(body):
            changes = [node._replace(length=node.length + 2), node._replace(tag=node.tag + 1)]
            if ours.explicit and node.vr not in ("UN", "SQ"):
                changes.append(node._replace(vr="UT" if node.vr != "UT" else "LT"))
            if node.items:
                changes.append(node._replace(items=node.items[:-1]))
                first = node.items[0]
                changes.append(node._replace(items=(first._replace(undefined=not first.undefined),)
                                             + node.items[1:]))
            if node.fragments:
                changes.append(node._replace(fragments=node.fragments + (0,)))
            for changed in changes:
                with pytest.raises(AssertionError):
                    compare_nodes(tuple(body[:i] + [changed] + body[i + 1:]), theirs.body,
                                  ours.explicit, "dataset")


# --------------------------------------------------------------------------
# determinism, round trip, chunking


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_reread_is_deterministic_and_writes_back(path):
    data = data_of(path)
    stream = iter_events(path)
    first = list(stream)
    assert stream.reader.sha256 == hashlib.sha256(data).hexdigest()
    assert stream.reader.size == len(data)
    assert list(iter_events(path)) == first
    assert list(iter_events(data)) == first
    assert type(first[-1]) is End and sum(type(e) is End for e in first) == 1
    assert write_events(first) == data


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_small_inline_limit_and_random_chunks(path):
    """Values longer than the inline limit arrive as ValueChunks; folded back
    they are the values of an ordinary read, and the events do not depend on
    how the input is cut (a fixed random cutting per file)."""
    data = data_of(path)
    whole = list(iter_events(data))
    rng = random.Random(path.name)
    options = dict(chunk_threshold=rng.choice(SAFE_LIMITS), chunk_size=rng.choice([1, 7, 64, 4096]))
    # at most a few thousand chunks per file, to stay fast
    options["chunk_size"] = max(options["chunk_size"], len(data) // 4000)
    small = list(iter_events(data, **options))
    longest = max(len(e.value) for e in coalesce(whole)
                  if type(e) in (Element, Fragment, Trailing) and e.value is not None)
    assert any(type(e) is ValueChunk for e in small) == (longest > options["chunk_threshold"])
    assert all(len(e.data) <= options["chunk_size"] for e in small if type(e) is ValueChunk)
    assert coalesce(small) == coalesce(whole)
    assert write_events(small) == data
    sizes = [rng.choice([1, 2, 3, 5, 8, 13, 100, 1000, 65536]) for _ in range(64)]
    if len(data) > 16 * 1024:
        sizes = [s * (len(data) // 4000 or 1) for s in sizes]  # a few thousand feeds at most
    assert fed_events(data, sizes, **options) == small


@needs_corpus
@pytest.mark.parametrize("name", ["test_files__image_dfl.dcm", "test_files__CT_small.dcm"])
@pytest.mark.parametrize("limit", [0, 16])
def test_tiny_inline_limit_keeps_transfer_syntax(name, limit):
    """Regression: the Transfer Syntax UID arriving in chunks is still read."""
    path = CORPUS / "pydicom" / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus")
    data = data_of(path)
    whole = list(iter_events(data))
    try:
        small = list(iter_events(data, chunk_threshold=limit, chunk_size=7))
    except DicomParseError as exc:
        pytest.fail(f"the file no longer reads: {exc}")
    start = [e for e in whole if type(e) is DataSetStart]
    assert [e for e in small if type(e) is DataSetStart] == start
    assert start[0].transfer_syntax is not None
    assert coalesce(small) == coalesce(whole)
    assert write_events(small) == data


@needs_corpus
@given(st.data())
def test_chunking_independence(data):
    path = data.draw(st.sampled_from(MEDIUM), label="file")
    raw = data_of(path)
    options = data.draw(st.fixed_dictionaries({
        "chunk_threshold": st.sampled_from(SAFE_LIMITS + (1 << 20,)),
        "chunk_size": st.integers(1, 300),
    }), label="options")
    if len(raw) > 32 * 1024:
        options["chunk_size"] = max(options["chunk_size"], 64)
    expected = list(iter_events(raw, **options))
    if path in SMALL and data.draw(st.booleans(), label="one byte at a time"):
        sizes = [1]
    else:
        lo = 1 if len(raw) <= 32 * 1024 else 256
        sizes = data.draw(st.lists(st.integers(lo, max(lo, len(raw))), min_size=1, max_size=20),
                          label="chunk sizes")
    assert fed_events(raw, sizes, **options) == expected


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_async_adapter_matches(path):
    data = data_of(path)
    rng = random.Random(len(data))

    async def chunks():
        pos = 0
        while pos < len(data):
            size = rng.randint(1, 70000)
            yield data[pos:pos + size]
            pos += size
            await asyncio.sleep(0)

    async def collect():
        stream = aiter_events(chunks())
        out = [event async for event in stream]
        return out, stream.reader

    events, reader = asyncio.run(collect())
    assert events == list(iter_events(path))
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# broken input


@pytest.mark.skipif(not BROKEN_FILES, reason=f"corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", BROKEN_FILES, ids=_ids(BROKEN_FILES))
def test_broken_file_raises_parse_error(path):
    """Each deliberately broken file fails promptly with an error that names
    the file, the byte offset and the tag (path) where reading stopped."""
    assert path.name in BROKEN
    with deadline(10):
        with pytest.raises(DicomParseError) as info:
            for _ in iter_events(path):
                pass
    err = info.value
    text = str(err)
    assert str(path) in text
    assert err.offset is not None and 0 <= err.offset <= path.stat().st_size
    assert f"offset {err.offset}" in text
    assert err.path, "no tag in the error"
    assert tag_str(err.path[-1]) in text
    # the same file streamed in chunks (its size unknown) fails too
    data = data_of(path)
    with deadline(10):
        with pytest.raises(DicomParseError):
            list(iter_events(data[i:i + 1000] for i in range(0, len(data), 1000)))


@given(st.binary(max_size=2000))
def test_random_bytes(data):
    check_valid_or_parse_error(data)


def _meta_prefix() -> bytes:
    """Preamble, DICM and a file meta group declaring explicit VR little
    endian, as the start of a plausible file."""
    uid = b"1.2.840.10008.1.2.1\x00"
    ts = struct.pack("<HH2sH", 2, 0x10, b"UI", len(uid)) + uid
    group = struct.pack("<HH2sHL", 2, 0, b"UL", 4, len(ts))
    return b"\x00" * 128 + b"DICM" + group + ts


_ELEMENT_HEADERS = st.one_of(
    st.tuples(st.sampled_from([0x0008, 0x0010, 0x0009, 0x7FE0, 0xFFFE, 0x0002]),
              st.integers(0, 0xFFFF), st.sampled_from([b"SQ", b"UN", b"OB", b"LO", b"US", b"ZZ",
                                                       b"\x00\x01"]),
              st.sampled_from([0, 2, 4, 8, 0xFFFF]), st.sampled_from([0, 4, 12, UNDEFINED]))
    .map(lambda t: struct.pack("<HH2sHL", t[0], t[1], t[2], t[3], t[4])),
    st.tuples(st.sampled_from([0xE000, 0xE00D, 0xE0DD]), st.sampled_from([0, 8, UNDEFINED]))
    .map(lambda t: struct.pack("<HHL", 0xFFFE, t[0], t[1])),
    st.binary(max_size=16),
)


@given(st.lists(_ELEMENT_HEADERS, max_size=20), st.booleans())
def test_random_structures(parts, with_meta):
    """Element, item and delimiter headers in random order: a valid stream or
    a DicomParseError."""
    data = (_meta_prefix() if with_meta else b"") + b"".join(parts)
    check_valid_or_parse_error(data)


@needs_corpus
@given(st.data())
def test_truncated_corpus_files(data):
    """A corpus file cut anywhere: a valid stream that writes back (a cut at
    an element boundary) or a DicomParseError."""
    path = data.draw(st.sampled_from(MEDIUM), label="file")
    raw = data_of(path)
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    check_valid_or_parse_error(raw[:cut], chunk_threshold=data.draw(st.sampled_from([64, 1 << 20])))


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_truncated_at_random_points(path):
    """Every corpus file cut at a few random points (fixed per file)."""
    raw = data_of(path)
    rng = random.Random("cut " + path.name)
    for cut in sorted(rng.randrange(len(raw)) for _ in range(3)):
        check_valid_or_parse_error(raw[:cut])


@needs_corpus
@given(st.data())
def test_mutated_corpus_files(data):
    """A corpus file with a few bytes overwritten."""
    path = data.draw(st.sampled_from(SMALL), label="file")
    raw = bytearray(data_of(path))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        pos = data.draw(st.integers(0, len(raw) - 1), label="position")
        raw[pos] = data.draw(st.integers(0, 255), label="byte")
    check_valid_or_parse_error(bytes(raw))


def _prefix_cut_files(count: int):
    """A few small corpus files with sequences, for exhaustive truncation."""
    chosen = []
    for path in sorted(SMALL, key=lambda p: p.stat().st_size):
        if any(type(e).__name__ == "SequenceStart" for e in iter_events(path)):
            chosen.append(path)
        if len(chosen) == count:
            break
    return chosen


@needs_corpus
def test_every_prefix_of_a_small_file():
    paths = _prefix_cut_files(1)
    assert paths
    parsed = 0
    for path in paths:
        raw = data_of(path)
        for cut in range(len(raw)):
            if check_valid_or_parse_error(raw[:cut], timeout=5):
                parsed += 1
    # a cut between top-level elements (or inside the preamble, which then
    # reads as a file without one) parses; a cut inside an element must not
    assert 0 < parsed < len(raw)


@pytest.mark.slow
@needs_corpus
def test_every_prefix_of_small_files_slow():
    for path in _prefix_cut_files(12):
        raw = data_of(path)
        for cut in range(len(raw)):
            check_valid_or_parse_error(raw[:cut], timeout=5)
            check_valid_or_parse_error(raw[:cut], timeout=5, chunk_threshold=3, chunk_size=5)


# --------------------------------------------------------------------------
# nesting depth


def _nested_file(depth: int, explicit: bool = True) -> bytes:
    """A file (no preamble, no meta) of ``depth`` nested undefined-length
    sequences, each holding one undefined-length item, innermost a short
    string element."""
    def sq_header(tag_elem):
        if explicit:
            return struct.pack("<HH2sHL", 0x0040, tag_elem, b"SQ", 0, UNDEFINED)
        return struct.pack("<HHL", 0x0040, tag_elem, UNDEFINED)

    item = struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED)
    item_end = struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    seq_end = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    if explicit:
        leaf = struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 4) + b"Doe "
    else:
        leaf = struct.pack("<HHL", 0x0010, 0x0010, 4) + b"Doe "
    head = struct.pack("<HH2sH", 0x0008, 0x0005, b"CS", 10) + b"ISO_IR 100" if explicit \
        else struct.pack("<HHL", 0x0008, 0x0005, 10) + b"ISO_IR 100"
    return head + (sq_header(0xA730) + item) * depth + leaf + (item_end + seq_end) * depth


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "implicit"])
def test_depth_limit(explicit):
    shallow = _nested_file(3, explicit)
    events = list(iter_events(shallow, max_depth=64))
    assert write_events(events) == shallow
    for depth, limit in ((40, 64), (10, 8), (200, 64)):
        data = _nested_file(depth, explicit)
        with deadline(10):
            with pytest.raises(DicomParseError) as info:
                list(iter_events(data, max_depth=limit))
        assert "nesting" in str(info.value)
        assert info.value.path and all(t in (0x0040A730, 0xFFFEE000) for t in info.value.path)
    # the limit is a parameter: a deeper limit reads the same file
    deep = _nested_file(40, explicit)
    assert write_events(list(iter_events(deep, max_depth=200))) == deep
