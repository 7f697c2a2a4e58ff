"""The Ion mapping against the corpus: file facts, bulk references, every
value against pydicom (an independent oracle, used only by the tests), Ion
text vs binary, and the inline/bulk-folder options.
"""

from __future__ import annotations

import array
import hashlib
import io
import math
import struct
import warnings
import zlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from amazon.ion.simple_types import IonPyNull

from conftest import CORPUS, good_corpus_files
import dicom2ion
from dicom2ion import BulkDataError
from dicom2ion.dictionary import is_private, keyword_for, lookup
from oracle import parse_sequence_bytes, pydicom_dataset, recording_raw_elements, tag_str

pydicom = pytest.importorskip("pydicom")
from pydicom.datadict import keyword_for_tag  # noqa: E402
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.encaps import generate_fragments, parse_basic_offsets  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.values import convert_value  # noqa: E402

GOOD = good_corpus_files()
needs_corpus = pytest.mark.skipif(not GOOD, reason=f"corpus not found at {CORPUS} "
                                  "(set DICOM2ION_CORPUS)")
CHARSET_FILES = [p for p in GOOD if p.name.startswith("charset_files__")]

TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM",
            "UC", "UI", "UR", "UT"}
NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d",
                  "SV": "q", "UV": "Q"}
SWAP_UNITS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
UNDEFINED = 0xFFFFFFFF


def _ids(paths):
    return [p.name for p in paths]


_DOCS: dict = {}


def doc_of(path: Path) -> dict:
    """The converted document of a corpus file (converted once per run)."""
    doc = _DOCS.get(path)
    if doc is None:
        doc = _DOCS[path] = dicom2ion.convert(path)
    return doc


def _is_encapsulated(path: Path) -> bool:
    """Whether pydicom finds undefined-length (encapsulated) Pixel Data."""
    ds = pydicom_dataset(path)
    return 0x7FE00010 in ds and getattr(ds.get_item(0x7FE00010), "length", None) == UNDEFINED


ENCAPSULATED = {p for p in GOOD if _is_encapsulated(p)}


# --------------------------------------------------------------------------
# helpers over the document


def annotation(value):
    anns = getattr(value, "ion_annotations", None)
    if not anns:
        return None
    ann = anns[0]
    return str(getattr(ann, "text", ann))


def is_null(value) -> bool:
    return value is None or isinstance(value, IonPyNull) or (
        getattr(value, "ion_type", None) is not None and getattr(value, "is_null", False))


def fields(struct_value):
    """(name, value) pairs of an Ion struct (repeated names included)."""
    items = getattr(struct_value, "iteritems", None)
    return list(items()) if items is not None else list(struct_value.items())


def bulk_references(value, where="dataSet"):
    """Every (where, reference) in a dataSet: element references
    {dataOffset, length, sha256}, encapsulated data (the same keys) and its
    fragments {offset, position, length, sha256}."""
    if isinstance(value, Mapping):
        if "sha256" in value and "dataOffset" in value:
            yield where, value
            for i, frag in enumerate(value.get("fragments") or ()):
                yield f"{where}.fragments[{i}]", frag
            return
        for name, item in fields(value):
            yield from bulk_references(item, f"{where}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from bulk_references(item, f"{where}[{i}]")


def external_references(data_set):
    """The references whose bytes are not in the document: element values
    and fragments without inline ``data`` (an encapsulated value's own
    {dataOffset, length, sha256} only describe its items)."""
    for where, ref in bulk_references(data_set):
        if "fragments" in ref or "data" in ref:
            continue
        yield where, ref


def stored_bytes(path: Path, doc: dict) -> bytes:
    """The bytes the document's offsets count: the file, or for a deflated
    data set the file up to the compressed stream followed by the inflated
    stream (oracle: zlib, not the package)."""
    data = path.read_bytes()
    encoding = str(doc["fileInfo"].get("encoding") or "")
    if not encoding.startswith("deflated"):
        return data
    start = int(doc["wire"]["deflate"]["dataOffset"])
    inflater = zlib.decompressobj(-15)
    return data[:start] + inflater.decompress(data[start:]) + inflater.flush()


def swap(data: bytes, unit: int) -> bytes:
    """Byte-swap whole ``unit``-byte words (oracle: the array module)."""
    code = {2: "H", 4: "I", 8: "Q"}[unit]
    whole = len(data) - len(data) % unit
    words = array.array(code, data[:whole])
    words.byteswap()
    return words.tobytes() + data[whole:]


# --------------------------------------------------------------------------
# file facts and bulk references


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_file_info_and_bulk_references(path):
    data = path.read_bytes()
    doc = doc_of(path)
    info = doc["fileInfo"]
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["size"] == len(data)
    stored = stored_bytes(path, doc)
    for where, ref in bulk_references(doc["dataSet"]):
        length = int(ref["length"])
        start = int(ref["position"] if "position" in ref else ref["dataOffset"])
        chunk = stored[start:start + length]
        assert len(chunk) == length, f"{where}: runs past the end"
        assert hashlib.sha256(chunk).hexdigest() == ref["sha256"], f"{where}: sha256"
        if "data" in ref:
            assert bytes(ref["data"]) == chunk, f"{where}: inline data"
    wire = doc.get("wire") or {}
    if "deflate" in wire:
        # the compressed bytes themselves, in the file as it is
        deflate = wire["deflate"]
        start, length = int(deflate["dataOffset"]), int(deflate["length"])
        assert hashlib.sha256(data[start:start + length]).hexdigest() == deflate["sha256"]
    # (that the references are the values they should be, at the offsets
    # they should be, is checked against pydicom in test_values_match_pydicom)


# --------------------------------------------------------------------------
# values against pydicom


class Context:
    """What a comparison needs to know about the file, and what it saw."""

    def __init__(self, seen: dict):
        self.seen = seen   # pydicom's raw elements, by (tag, value offset)
        self.counts: dict = {}

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def expected_name(tag: int) -> str:
    """The field name an element must have, from pydicom's dictionary: its
    keyword for a standard tag, 8 hex digits for a private one.

    Exceptions: a repeating-group member other than the group's base tag
    (60xx, 50xx: e.g. (6002,3000)) has 8 hex digits, since the keyword names
    the base tag; a tag pydicom's (older) dictionary does not know may have
    our dictionary's keyword.
    """
    if is_private(tag):
        return "%08X" % tag
    theirs = keyword_for_tag(tag)
    entry = lookup(tag)
    if theirs and entry is not None and entry.tag != tag:
        return "%08X" % tag
    if not theirs:
        return keyword_for(tag) or "%08X" % tag
    return theirs


def our_vr(tag: int, value) -> str | None:
    """The VR our document gives a value: its annotation, else the one VR
    the dictionary allows."""
    ann = annotation(value)
    if ann:
        return ann
    entry = lookup(tag)
    if entry is not None and len(entry.vrs) == 1:
        return entry.vr
    return None


def raw_of(ds, tag, ctx):
    """pydicom's raw element for a tag (None for an undefined-length
    sequence, which pydicom reads straight into a DataElement)."""
    elem = ds.get_item(tag)
    if isinstance(elem, RawDataElement):
        return elem
    return ctx.seen.get((int(elem.tag), elem.file_tell))


# VRs whose leading spaces are insignificant too (PS3.5 6.2); pydicom strips
# them for some of these (AE), we keep every byte in the value
LEADING_SPACE_VRS = {"AE", "CS", "DS", "IS"}


def text_values(value, vr=None) -> list:
    """A text value as a list of values, each without trailing spaces/NULs
    (and leading spaces where they are insignificant). For PN, empty
    trailing component groups ('=' at the end) are dropped: pydicom's
    PersonName drops them, we keep the text as it is."""
    values = list(value) if isinstance(value, (list, MultiValue)) else [value]
    out = [str(v).rstrip(" \x00") for v in values]
    if vr in LEADING_SPACE_VRS:
        out = [v.lstrip(" ") for v in out]
    if vr == "PN":
        out = [v.rstrip("=") for v in out]
    return out


def compare_text(ours, theirs, where, vr=None):
    """Our string (multi-valued kept with backslashes) against pydicom's
    value: pydicom splits multi-valued VRs into a MultiValue and strips
    trailing spaces from each value, so ours is split and stripped the same
    way; single-valued VRs (ST, LT, UT, UR) are compared whole."""
    if is_null(ours):
        assert theirs in (None, "", b"") or (isinstance(theirs, MultiValue) and not theirs) \
            or text_values(theirs, vr) == [""], f"{where}: ours is null, pydicom's {theirs!r}"
        return
    ours = str(ours)
    if isinstance(theirs, MultiValue):
        assert text_values(ours.split("\\"), vr) == text_values(theirs, vr), where
    else:
        assert text_values(ours, vr) == text_values(theirs, vr), where


def _num_equal(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or a == b
    return int(a) == int(b)


def compare_reference(ours, raw, base, ctx, where):
    """A bulk reference: the bytes pydicom read, as they are in the file, at
    the offset pydicom read them from."""
    ctx.count("reference")
    assert int(ours["length"]) == raw.length == len(raw.value), f"{where}: length"
    assert ours["sha256"] == hashlib.sha256(raw.value).hexdigest(), f"{where}: sha256"
    assert int(ours["dataOffset"]) == base + raw.value_tell, f"{where}: dataOffset"


def compare_primitive(vr, ours, raw, theirs, ctx, where):
    """One inline primitive value against pydicom's (``theirs``, decoded as
    our VR) or, for binary VRs, pydicom's raw bytes."""
    if vr in TEXT_VRS:
        ctx.count("text")
        compare_text(ours, theirs, where, vr)
        return
    if is_null(ours):
        ctx.count("empty")
        assert raw.length == 0, f"{where}: null for a non-empty value"
        return
    fmt = NUMBER_FORMATS.get(vr)
    if fmt is not None:
        size = struct.calcsize(fmt)
        if isinstance(ours, (bytes, bytearray)):
            ctx.count("numbers")
            expected = list(theirs) if isinstance(theirs, (list, MultiValue)) else [theirs]
            if len(ours) % size:
                # not a whole number of values: the bytes as they are
                assert bytes(ours) == (raw.value if raw.is_little_endian
                                       else swap(raw.value, size)), where
                return
            values = struct.unpack("<%d%s" % (len(ours) // size, fmt), bytes(ours))
            assert len(values) == len(expected) and all(
                _num_equal(a, b) for a, b in zip(values, expected)), where
        else:
            ctx.count("number")
            if isinstance(theirs, (list, MultiValue)) and len(theirs) == 1:
                theirs = theirs[0]
            assert _num_equal(ours, theirs), f"{where}: {ours!r} vs pydicom's {theirs!r}"
        return
    if vr == "AT":
        ctx.count("AT")
        tags = theirs if isinstance(theirs, (list, MultiValue)) else [theirs]
        assert str(ours) == "\\".join("%08X" % int(t) for t in tags), where
        return
    # OB, OW, OF, OD, OL, OV, UN: a blob of little-endian bytes
    ctx.count("blob")
    assert isinstance(ours, (bytes, bytearray)), f"{where}: a {vr} value that is not a blob"
    data = raw.value
    if not raw.is_little_endian and vr in SWAP_UNITS:
        data = swap(data, SWAP_UNITS[vr])
    assert bytes(ours) == data, f"{where}: bytes differ"


def compare_encapsulated(ours, raw, base, ctx, where):
    """Encapsulated data against pydicom's fragments and offset table."""
    ctx.count("encapsulated")
    assert ours.get("encapsulatedPixelData") is True, where
    endianness = "<" if raw.is_little_endian else ">"
    buffer = io.BytesIO(raw.value)
    fragments = []  # (offset of the fragment's bytes in the value, bytes)
    for fragment in generate_fragments(buffer, endianness=endianness):
        fragments.append((buffer.tell() - len(fragment), fragment))
    table = ours["basicOffsetTable"]
    if isinstance(table, (bytes, bytearray)):
        assert bytes(table) == fragments[0][1], f"{where}: basic offset table bytes"
    else:
        offsets = parse_basic_offsets(raw.value, endianness=endianness)
        assert [int(x) for x in table] == offsets, f"{where}: basic offset table"
    assert len(ours["fragments"]) == len(fragments) - 1, f"{where}: number of fragments"
    start = base + raw.value_tell
    first_item = fragments[1][0] - 8 if len(fragments) > 1 else None
    for record, (pos, frag) in zip(ours["fragments"], fragments[1:]):
        assert int(record["length"]) == len(frag), where
        assert record["sha256"] == hashlib.sha256(frag).hexdigest(), where
        assert int(record["position"]) == start + pos, f"{where}: fragment position"
        # offset: from the first fragment's item tag, as the offset table counts
        assert int(record["offset"]) == pos - 8 - first_item, f"{where}: fragment offset"
    assert int(ours["dataOffset"]) == start, f"{where}: dataOffset"
    # the value: every item with its header, and the sequence delimiter
    assert int(ours["length"]) == len(raw.value) + 8, f"{where}: length"


def compare_dataset(ours, datasets, ctx, where="dataSet"):
    """Every element of pydicom's data sets against our struct.

    ``datasets`` is a list of (pydicom data set, base): pydicom's value
    offsets count from ``base`` (the start of a deflated stream, or of the
    value of the defined-length sequence whose bytes pydicom parsed).
    """
    names = [name for name, _ in fields(ours)]
    assert len(names) == len(set(names)), f"{where}: repeated field names"
    private = [is_private_name(n) for n in names]
    assert private == sorted(private), f"{where}: a standard field after a private one"
    ours_by_name = dict(fields(ours))
    expected_names = []
    for ds, base in datasets:
        charsets = getattr(ds, "_character_set", None)
        for tag in ds.keys():
            tag = int(tag)
            name = expected_name(tag)
            expected_names.append(name)
            assert name in ours_by_name, f"{where}: no field {name} for {tag_str(tag)}"
            compare_element(ds, tag, ours_by_name[name], base, charsets, ctx, f"{where}.{name}")
    assert sorted(names) == sorted(expected_names), f"{where}: fields differ"


def is_private_name(name: str) -> bool:
    return len(name) == 8 and all(c in "0123456789ABCDEF" for c in name) and \
        is_private(int(name, 16))


def compare_element(ds, tag, value, base, charsets, ctx, where):
    raw = raw_of(ds, tag, ctx)
    vr = our_vr(tag, value)
    elem = ds.get_item(tag)
    if isinstance(value, list):
        ctx.count("sequence")
        if raw is None:
            # undefined length: pydicom read the items from the file itself
            seq, item_base = elem.value, base
        elif _pydicom_vr(ds, tag) == "SQ":
            seq, item_base = ds[tag].value, base + raw.value_tell
        else:
            # a sequence pydicom does not know as one (a private tag in
            # implicit VR): the items pydicom finds reading the bytes as an
            # implicit VR little endian sequence
            ctx.count("private sequence")
            seq = parse_sequence_bytes(raw.value, True, True, raw.value_tell)
            item_base = base + raw.value_tell
        assert len(value) == len(seq), f"{where}: number of items"
        for i, (item, theirs) in enumerate(zip(value, seq)):
            compare_dataset(item, [(theirs, item_base)], ctx, f"{where}[{i}]")
        return
    assert raw is not None, f"{where}: pydicom has a sequence, we have {type(value).__name__}"
    if isinstance(value, Mapping) and "encapsulatedPixelData" in value:
        compare_encapsulated(value, raw, base, ctx, where)
        return
    if isinstance(value, Mapping):
        compare_reference(value, raw, base, ctx, where)
        return
    if vr is not None and _pydicom_vr(ds, tag) == vr:
        theirs = ds[tag].value
    elif vr in TEXT_VRS or vr in NUMBER_FORMATS or vr == "AT":
        # the VRs differ (implicit VR: pydicom's private dictionary, or a
        # multi-VR tag resolved otherwise; the VR choice itself is checked
        # in test_corpus_reader): pydicom decodes the raw bytes as our VR
        ctx.count("decoded as our VR")
        theirs = convert_value(vr, raw._replace(VR=vr), charsets)
    else:
        theirs = None   # binary VRs compare with the raw bytes
    compare_primitive(vr, value, raw, theirs, ctx, where)


def _pydicom_vr(ds, tag) -> str:
    """pydicom's VR for an element: the wire VR in explicit VR, else the one
    its dictionaries give."""
    elem = ds.get_item(tag)
    if isinstance(elem, RawDataElement) and elem.VR is not None:
        return str(elem.VR)
    return str(ds[tag].VR)


def compare_with_pydicom(path: Path, doc: dict) -> dict:
    """Compare a document's dataSet with pydicom's reading of ``path``;
    returns how many values of each kind were compared."""
    deflated = str(doc["fileInfo"].get("encoding") or "").startswith("deflated")
    with recording_raw_elements() as seen, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom_dataset(path)
        ctx = Context(seen)
        # pydicom's offsets in a deflated data set count from the start of
        # the inflated stream; ours continue from the end of the meta group
        body_base = int(doc["wire"]["deflate"]["dataOffset"]) if deflated else 0
        datasets = [(ds.file_meta, 0), (ds, body_base)] if ds.file_meta is not None \
            else [(ds, body_base)]
        compare_dataset(doc["dataSet"], datasets, ctx)
    return ctx.counts


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_values_match_pydicom(path):
    assert compare_with_pydicom(path, doc_of(path))


def _mutations(doc: dict):
    """(description, mutated copy) pairs of a document's dataSet."""
    data_set = doc["dataSet"]

    def changed(name, new):
        copy = dict(doc)
        copy["dataSet"] = dict(data_set)
        copy["dataSet"][name] = new
        return copy

    yield "PatientName", changed("PatientName", str(data_set["PatientName"]) + "X")
    yield "Rows", changed("Rows", int(data_set["Rows"]) + 1)
    pixel = dict(data_set["PixelData"])
    pixel["dataOffset"] = int(pixel["dataOffset"]) + 2
    yield "PixelData offset", changed("PixelData", pixel)
    copy = dict(doc)
    copy["dataSet"] = {k: v for k, v in data_set.items() if k != "Modality"}
    yield "no Modality", copy
    for name, value in fields(data_set):
        if isinstance(value, (bytes, bytearray)) and len(value) > 1:
            flipped = bytes([value[0] ^ 1]) + bytes(value[1:])
            ann = annotation(value)
            if ann:
                from amazon.ion.core import IonType
                from amazon.ion.simple_types import IonPyBytes
                flipped = IonPyBytes.from_value(IonType.BLOB, flipped, (ann,))
            yield f"{name} first byte", changed(name, flipped)
            break
    for name, value in fields(data_set):
        if isinstance(value, list) and value and value[0]:
            item = dict(value[0])
            key = next(iter(item))
            item.pop(key)
            yield f"{name}[0] without {key}", changed(name, [item] + list(value[1:]))
            break


@needs_corpus
def test_value_comparison_catches_changes():
    """The comparison with pydicom is not vacuous: a document changed in
    any of several ways no longer matches."""
    path = CORPUS / "pydicom" / "test_files__CT_small.dcm"
    if not path.exists():
        pytest.skip(f"{path.name} not in the corpus")
    doc = doc_of(path)
    counts = compare_with_pydicom(path, doc)
    assert counts["text"] and counts["number"] and counts["reference"] and counts["sequence"]
    tried = 0
    for what, mutated in _mutations(doc):
        tried += 1
        with pytest.raises(AssertionError):
            compare_with_pydicom(path, mutated)
    assert tried == 6


@needs_corpus
def test_corpus_exercises_every_kind_of_value():
    totals: dict = {}
    for path in GOOD:
        for kind, n in compare_with_pydicom(path, doc_of(path)).items():
            totals[kind] = totals.get(kind, 0) + n
    for kind in ("text", "number", "numbers", "blob", "sequence", "reference",
                 "encapsulated", "AT", "empty", "decoded as our VR", "private sequence"):
        assert totals.get(kind), f"no {kind} value in the corpus"


# --------------------------------------------------------------------------
# character sets


@pytest.mark.skipif(not CHARSET_FILES, reason=f"charset corpus not found under {CORPUS}")
@pytest.mark.parametrize("path", CHARSET_FILES, ids=_ids(CHARSET_FILES))
def test_charset_text_decodes_like_pydicom(path):
    """Every text value that Specific Character Set applies to (PatientName
    and the rest, in sequence items too) is the text pydicom decodes."""
    doc = doc_of(path)
    found = []

    def walk(ours, ds, where):
        for elem in ds:
            name = expected_name(int(elem.tag))
            value = ours[name]
            if elem.VR == "SQ":
                for i, (item, theirs) in enumerate(zip(value, elem.value)):
                    walk(item, theirs, f"{where}.{name}[{i}]")
            elif (elem.VR in ("SH", "LO", "ST", "LT", "UC", "UT", "PN") and not elem.is_empty
                  and our_vr(int(elem.tag), value) == elem.VR):
                # (an implicit VR private element pydicom's private
                # dictionary calls SH is UN bytes to us: not text)
                compare_text(value, elem.value, f"{where}.{name}", elem.VR)
                found.append(str(value))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(doc["dataSet"], pydicom_dataset(path), "dataSet")
    assert found, "no text in a character set sample"
    assert any(not text.isascii() for text in found), "no non-ASCII text decoded"


# --------------------------------------------------------------------------
# Ion text and binary


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_text_and_binary_ion_agree_and_rebuild(path):
    from amazon.ion.equivalence import ion_equals
    data = path.read_bytes()
    doc = doc_of(path)
    binary, text = io.BytesIO(), io.BytesIO()
    dicom2ion.dump(doc, binary, binary=True)
    dicom2ion.dump(doc, text, binary=False)
    assert binary.getvalue()[:4] == b"\xe0\x01\x00\xea"
    from_binary = dicom2ion.load(binary.getvalue())
    from_text = dicom2ion.load(text.getvalue())
    assert ion_equals(from_binary, from_text)
    assert dicom2ion.to_dicom_bytes(from_binary) == data
    assert dicom2ion.to_dicom_bytes(from_text) == data


# --------------------------------------------------------------------------
# options: inline everything, bulk folder


def _without_source(doc: dict) -> dict:
    out = dict(doc)
    out.pop("sourceInfo", None)
    return out


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_inline_all_needs_no_source(path):
    """inline_all puts every value in the document (fragments of
    encapsulated data too, as their ``data``): it rebuilds the file with no
    source and no bulk folder."""
    data = path.read_bytes()
    doc = dicom2ion.convert(path, inline_all=True)
    assert not list(external_references(doc["dataSet"]))
    stored = stored_bytes(path, doc)
    inline = 0
    for where, ref in bulk_references(doc["dataSet"]):
        if "data" in ref:
            inline += 1
            start = int(ref["position"])
            assert bytes(ref["data"]) == stored[start:start + int(ref["length"])], where
    if path in ENCAPSULATED:  # (pydicom says the pixel data is encapsulated)
        assert inline, "encapsulated pixel data with no fragment inline"
    assert dicom2ion.to_dicom_bytes(_without_source(doc)) == data
    # and through binary Ion
    buffer = io.BytesIO()
    dicom2ion.dump(_without_source(doc), buffer)
    assert dicom2ion.to_dicom_bytes(dicom2ion.load(buffer.getvalue())) == data


@needs_corpus
@pytest.mark.parametrize("path", GOOD, ids=_ids(GOOD))
def test_bulk_dir_rebuilds_without_source(path, tmp_path):
    data = path.read_bytes()
    bulk = tmp_path / "bulk"
    doc = dicom2ion.convert(path, bulk_dir=bulk)
    referenced = {ref["sha256"] for _, ref in bulk_references(doc["dataSet"])
                  if "fragments" not in ref}
    deflate = (doc.get("wire") or {}).get("deflate")
    if deflate is not None and "level" not in deflate:
        # no zlib level reproduces the compressed stream: its bytes are kept
        referenced.add(deflate["sha256"])
    stored = {}
    for file in bulk.rglob("*"):
        if file.is_file():
            assert not file.name.startswith("."), f"a temporary file was left: {file}"
            content = file.read_bytes()
            assert file.name == hashlib.sha256(content).hexdigest(), file
            stored[file.name] = file
    assert set(stored) == referenced
    out = tmp_path / "rebuilt.dcm"
    result = dicom2ion.to_dicom(_without_source(doc), out, bulk_dir=bulk, source=None)
    assert out.read_bytes() == data
    assert result["identical"] and result["size"] == len(data)
    if not stored:
        return
    # a tampered bulk file: BulkDataError, and no output file left behind
    victim = stored[sorted(stored)[0]]
    content = bytearray(victim.read_bytes())
    content[len(content) // 2] ^= 0xFF
    victim.write_bytes(bytes(content))
    target = tmp_path / "tampered.dcm"
    with pytest.raises(BulkDataError):
        dicom2ion.to_dicom(_without_source(doc), target, bulk_dir=bulk, source=None)
    assert not target.exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".dicom2ion-")]
