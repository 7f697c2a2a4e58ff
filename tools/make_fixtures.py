#!/usr/bin/env python3
"""Write the project's small DICOM fixture files, byte by byte.

Every fixture is assembled here from ``struct.pack`` of tags, VRs, lengths
and values. Neither dicom2ion's writer nor pydicom is used, so the fixtures
are an independent check of the reader and of the Ion round trip.

    python tools/make_fixtures.py            # (re)write fixtures/ and MANIFEST.json
    python tools/make_fixtures.py --check    # exit 1 if fixtures/ differs
    python tools/make_fixtures.py --out DIR  # write (or --check) another folder

``fixtures/MANIFEST.json`` lists every file with a one-line description,
whether it is valid (it must round-trip byte for byte) or broken (reading it
must raise DicomParseError at ``error.offset`` with ``error.message`` in the
text), its size and sha256. Valid entries carry ``expect``: facts known from
how the file was built (values, wire facts, offsets, digests) that
``tests/test_fixtures.py`` checks the Ion document against.

Output is deterministic: no clocks, no unseeded randomness.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import struct
import sys
import zlib
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MANIFEST = "MANIFEST.json"
SMALL_LIMIT = 4096          # every fixture but the example stays below this
EXAMPLE_LIMIT = 8192

# -- transfer syntaxes and UIDs ---------------------------------------------------
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
STUDY_COMPONENT = "1.2.840.10008.3.1.2.3.1"
IMPLEMENTATION_UID = "2.25.302097593823592617340851230452412330371"
IMPLEMENTATION_NAME = "DICOM2ION_FIX"


def uid_for(label: str) -> str:
    """A deterministic 2.25 UID (a UUID-like integer) for a label."""
    return "2.25." + str(int(hashlib.sha256(label.encode()).hexdigest()[:30], 16))


# -- encoding ---------------------------------------------------------------------
class Syntax(NamedTuple):
    explicit: bool
    little: bool


ELE = Syntax(True, True)
ILE = Syntax(False, True)
EBE = Syntax(True, False)

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


def _e(syn: Syntax) -> str:
    return "<" if syn.little else ">"


def header(tag: int, vr: str, length: int, syn: Syntax = ELE,
           raw_vr: Optional[bytes] = None, reserved: int = 0) -> bytes:
    """Element header: tag, (VR, reserved,) length in the given syntax."""
    e = _e(syn)
    group, elem = tag >> 16, tag & 0xFFFF
    if not syn.explicit:
        return struct.pack(e + "HHL", group, elem, length)
    code = raw_vr if raw_vr is not None else vr.encode("ascii")
    if raw_vr is not None or vr in LONG_VRS:
        return struct.pack(e + "HH2sHL", group, elem, code, reserved, length)
    assert length <= 0xFFFF, (hex(tag), length)
    return struct.pack(e + "HH2sH", group, elem, code, length)


def elem(tag: int, vr: str, value: bytes, syn: Syntax = ELE, *,
         raw_vr: Optional[bytes] = None, length: Optional[int] = None) -> Tuple[int, bytes]:
    """(tag, bytes) of a whole element."""
    n = len(value) if length is None else length
    return tag, header(tag, vr, n, syn, raw_vr) + value


def delim(tag: int, syn: Syntax = ELE, length: int = 0) -> bytes:
    return struct.pack(_e(syn) + "HHL", tag >> 16, tag & 0xFFFF, length)


def item(content: bytes, syn: Syntax = ELE, undefined: bool = False) -> bytes:
    if undefined:
        return delim(ITEM, syn, UNDEFINED) + content + delim(ITEM_END, syn)
    return delim(ITEM, syn, len(content)) + content


def seq(tag: int, items: List[bytes], syn: Syntax = ELE, undefined: bool = False,
        vr: str = "SQ") -> Tuple[int, bytes]:
    """A sequence of already encoded items."""
    body = b"".join(items)
    if undefined:
        return tag, header(tag, vr, UNDEFINED, syn) + body + delim(SEQ_END, syn)
    return tag, header(tag, vr, len(body), syn) + body


def encapsulated(tag: int, offsets: List[int], fragments: List[bytes],
                 syn: Syntax = ELE) -> Tuple[int, bytes]:
    """Encapsulated pixel data: basic offset table item, fragments, delimiter."""
    bot = b"".join(struct.pack(_e(syn) + "L", o) for o in offsets)
    body = item(bot, syn) + b"".join(item(f, syn) for f in fragments)
    return tag, header(tag, "OB", UNDEFINED, syn) + body + delim(SEQ_END, syn)


def text(s, pad: bytes = b" ", encoding: str = "ascii") -> bytes:
    data = s if isinstance(s, bytes) else s.encode(encoding)
    return data + pad if len(data) % 2 else data


def ui(s: str) -> bytes:
    return text(s, b"\0")


def nums(fmt: str, *values, syn: Syntax = ELE) -> bytes:
    return struct.pack(_e(syn) + fmt * len(values), *values)


def at(*tags: int, syn: Syntax = ELE) -> bytes:
    return b"".join(struct.pack(_e(syn) + "HH", t >> 16, t & 0xFFFF) for t in tags)


def dataset(*elements: Tuple[int, bytes], keep_order: bool = False) -> bytes:
    """Concatenate (tag, bytes) elements, in ascending tag order unless told."""
    els = list(elements) if keep_order else sorted(elements, key=lambda e: e[0])
    return b"".join(b for _, b in els)


ZERO_PREAMBLE = bytes(128)


def meta(ts: Optional[str], sop_class: str, sop_instance: str, *,
         group_length: bool = True) -> bytes:
    """File meta group (explicit VR little endian), optionally without the
    group length or the transfer syntax."""
    els = [
        elem(0x00020001, "OB", b"\x00\x01"),
        elem(0x00020002, "UI", ui(sop_class)),
        elem(0x00020003, "UI", ui(sop_instance)),
    ]
    if ts is not None:
        els.append(elem(0x00020010, "UI", ui(ts)))
    els.append(elem(0x00020012, "UI", ui(IMPLEMENTATION_UID)))
    els.append(elem(0x00020013, "SH", text(IMPLEMENTATION_NAME)))
    body = dataset(*els)
    if group_length:
        body = elem(0x00020000, "UL", nums("L", len(body)))[1] + body
    return body


def p10(ts: Optional[str], body: bytes, *, name: str, sop_class: str = SECONDARY_CAPTURE,
        preamble: Optional[bytes] = ZERO_PREAMBLE, group_length: bool = True) -> bytes:
    head = b"" if preamble is None else preamble + b"DICM"
    return head + meta(ts, sop_class, uid_for(name), group_length=group_length) + body


def common(name: str, syn: Syntax = ELE, sop_class: str = SECONDARY_CAPTURE,
           modality: str = "OT") -> List[Tuple[int, bytes]]:
    """A few identifying attributes every small fixture carries."""
    return [
        elem(0x00080016, "UI", ui(sop_class), syn),
        elem(0x00080018, "UI", ui(uid_for(name)), syn),
        elem(0x00080060, "CS", text(modality), syn),
        elem(0x00100010, "PN", text("Fixture^" + name.title().replace("_", "")[:40]), syn),
        elem(0x00100020, "LO", text("FIX-" + hashlib.sha256(name.encode()).hexdigest()[:8]), syn),
    ]


def blob(data: bytes) -> dict:
    return {"blob": data.hex()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_bytes(label: str, n: int) -> bytes:
    """Deterministic filler bytes."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return out[:n]


def fake_jpeg(label: str, n: int, start: bool = True, end: bool = True) -> bytes:
    """Bytes that look like (a piece of) a JPEG stream, of even length n."""
    assert n % 2 == 0
    head = b"\xff\xd8\xff\xe0" if start else b""
    tail = b"\xff\xd9" if end else b""
    body = fake_bytes(label, n - len(head) - len(tail)).replace(b"\xff", b"\x7f")
    return head + body + tail


def only(data: bytes, needle: bytes) -> int:
    """Offset of ``needle``, which must occur exactly once in ``data``."""
    assert data.count(needle) == 1, needle[:16]
    return data.index(needle)


# -- the fixtures -----------------------------------------------------------------
class Fixture(NamedTuple):
    name: str
    description: str
    valid: bool
    data: bytes
    expect: Optional[dict] = None      # valid files: facts known from the build
    error: Optional[dict] = None       # broken files: {"offset", "message"}
    damage: Optional[dict] = None      # damaged_*: {"class", "offset"} of the damage


BUILDERS: List[Callable[[], Fixture]] = []


def fixture(fn: Callable[[], Fixture]) -> Callable[[], Fixture]:
    BUILDERS.append(fn)
    return fn


def ct_pixels() -> bytes:
    """16x16 signed 16-bit pixels, a deterministic ramp."""
    return struct.pack("<256h", *[((r * 16 + c) * 13) % 2048 - 1024
                                  for r in range(16) for c in range(16)])


@fixture
def example_ct() -> Fixture:
    name = "example_ct"
    study, series, inst = uid_for("ct-study"), uid_for("ct-series"), uid_for(name)
    ref1, ref2 = uid_for("ct-ref-1"), uid_for("ct-ref-2")
    pixels = ct_pixels()
    refs = [item(dataset(elem(0x00081150, "UI", ui(STUDY_COMPONENT)),
                         elem(0x00081155, "UI", ui(u)))) for u in (ref1, ref2)]
    els = [
        elem(0x00080005, "CS", text("ISO_IR 100")),
        elem(0x00080008, "CS", text("ORIGINAL\\PRIMARY\\AXIAL")),
        elem(0x00080016, "UI", ui(CT_IMAGE)),
        elem(0x00080018, "UI", ui(inst)),
        elem(0x00080020, "DA", text("20240131")),
        elem(0x00080021, "DA", text("20240131")),
        elem(0x00080030, "TM", text("093015.25")),
        elem(0x00080050, "SH", text("ACC-2024-0001")),
        elem(0x00080060, "CS", text("CT")),
        elem(0x00080070, "LO", text("dicom2ion fixtures")),
        elem(0x00081030, "LO", text("CT HEAD W/O CONTRAST")),
        seq(0x00081110, refs),
        elem(0x00090010, "LO", text("DICOM2ION EXAMPLE")),
        elem(0x00091001, "LO", text("KERNEL B30F")),
        elem(0x00091002, "DS", text("0.75")),
        elem(0x00100010, "PN", text("Doe^Jane")),
        elem(0x00100020, "LO", text("PID-0001")),
        elem(0x00100030, "DA", text("19700101")),
        elem(0x00100040, "CS", text("F")),
        elem(0x00180050, "DS", text("1.25")),
        elem(0x00180060, "DS", text("120")),
        elem(0x0020000D, "UI", ui(study)),
        elem(0x0020000E, "UI", ui(series)),
        elem(0x00200010, "SH", text("1")),
        elem(0x00200011, "IS", text("3")),
        elem(0x00200013, "IS", text("1")),
        elem(0x00200032, "DS", text("-4.0\\-4.0\\12.5")),
        elem(0x00200037, "DS", text("1\\0\\0\\0\\1\\0")),
        elem(0x00280002, "US", nums("H", 1)),
        elem(0x00280004, "CS", text("MONOCHROME2")),
        elem(0x00280010, "US", nums("H", 16)),
        elem(0x00280011, "US", nums("H", 16)),
        elem(0x00280030, "DS", text("0.5\\0.5")),
        elem(0x00280100, "US", nums("H", 16)),
        elem(0x00280101, "US", nums("H", 12)),
        elem(0x00280102, "US", nums("H", 11)),
        elem(0x00280103, "US", nums("H", 1)),
        elem(0x00281050, "DS", text("40\\-600")),
        elem(0x00281051, "DS", text("400\\1500")),
        elem(0x00281052, "DS", text("-1024")),
        elem(0x00281053, "DS", text("1")),
        elem(0x00281054, "LO", text("HU")),
        elem(0x7FE00010, "OW", pixels),
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name, sop_class=CT_IMAGE)
    pixel_offset = only(data, header(0x7FE00010, "OW", 512) + pixels[:32]) + 12
    return Fixture(
        "example_ct.dcm",
        "Demo CT image: full meta group, patient/study/series/image attributes, a 2-item "
        "sequence, a private block and 16x16 OW pixel data (a bulk reference)",
        True, data, expect={
            "values": [
                [["TransferSyntaxUID"], EXPLICIT_LE],
                [["MediaStorageSOPClassUID"], CT_IMAGE],
                [["MediaStorageSOPInstanceUID"], inst],
                [["ImplementationClassUID"], IMPLEMENTATION_UID],
                [["ImplementationVersionName"], IMPLEMENTATION_NAME],
                [["PatientName"], "Doe^Jane"],
                [["PatientID"], "PID-0001"],
                [["PatientSex"], "F"],
                [["StudyDate"], "20240131"],
                [["StudyTime"], "093015.25"],
                [["Modality"], "CT"],
                [["ImageType"], "ORIGINAL\\PRIMARY\\AXIAL"],
                [["Rows"], 16],
                [["Columns"], 16],
                [["BitsAllocated"], 16],
                [["PixelRepresentation"], 1],
                [["RescaleSlope"], "1"],
                [["RescaleIntercept"], "-1024"],
                [["WindowCenter"], "40\\-600"],
                [["WindowWidth"], "400\\1500"],
                [["ImagePositionPatient"], "-4.0\\-4.0\\12.5"],
                [["ReferencedStudySequence", 0, "ReferencedSOPClassUID"], STUDY_COMPONENT],
                [["ReferencedStudySequence", 0, "ReferencedSOPInstanceUID"], ref1],
                [["ReferencedStudySequence", 1, "ReferencedSOPInstanceUID"], ref2],
                [["00090010"], "DICOM2ION EXAMPLE"],
                [["00091001"], "KERNEL B30F"],
                [["00091002"], "0.75"],
                [["PixelData", "dataOffset"], pixel_offset],
                [["PixelData", "length"], 512],
                [["PixelData", "sha256"], sha(pixels)],
            ],
            "annotations": [[["00091001"], "LO"], [["00091002"], "DS"], [["PixelData"], "OW"]],
            "lengths": [[["ReferencedStudySequence"], 2]],
            "absent_wire": ["preamble", "encoding", "trailing", "elements", "order"],
        })


@fixture
def undefined_length_sequences() -> Fixture:
    name = "undefined_length_sequences"
    leaf = item(dataset(elem(0x0040A040, "CS", text("TEXT")),
                        elem(0x0040A160, "UT", text("deepest"))))               # defined
    level3 = seq(0x0040A730, [leaf], undefined=True)
    level2_item = item(dataset(elem(0x0040A040, "CS", text("CONTAINER")), level3),
                       undefined=True)
    level2 = seq(0x0040A730, [level2_item])                                     # defined
    first = item(dataset(elem(0x0040A010, "CS", text("CONTAINS")),
                         elem(0x0040A040, "CS", text("CONTAINER")), level2), undefined=True)
    second = item(dataset(elem(0x0040A040, "CS", text("TEXT")),
                          elem(0x0040A160, "UT", text("second"))))              # defined
    empty_item = item(b"", undefined=True)
    els = common(name) + [
        seq(0x0040A730, [first, second, empty_item], undefined=True),
        seq(0x00081140, [], undefined=True),                                    # empty, undefined
        seq(0x00081110, [item(b"")]),                                           # one empty item
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "undefined_length_sequences.dcm",
        "Sequences and items of undefined length nested 3 deep, mixed with defined "
        "lengths, plus empty undefined-length sequence and items",
        True, data, expect={
            "values": [
                [["ContentSequence", 0, "RelationshipType"], "CONTAINS"],
                [["ContentSequence", 0, "ContentSequence", 0, "ValueType"], "CONTAINER"],
                [["ContentSequence", 0, "ContentSequence", 0, "ContentSequence", 0, "TextValue"],
                 "deepest"],
                [["ContentSequence", 1, "TextValue"], "second"],
                [["ReferencedImageSequence"], []],
            ],
            "lengths": [[["ContentSequence"], 3], [["ReferencedStudySequence"], 1],
                        [["ContentSequence", 0, "ContentSequence"], 1]],
        })


@fixture
def un_undefined_sequence() -> Fixture:
    name = "un_undefined_sequence"
    inner = seq(0x00089215, [item(dataset(elem(0x00080100, "SH", text("121327"), ILE),
                                          elem(0x00080102, "SH", text("DCM"), ILE)), ILE,
                                  undefined=True)], ILE, undefined=True)
    ref1, ref2 = uid_for("un-ref-1"), uid_for("un-ref-2")
    items = [
        item(dataset(elem(0x00081150, "UI", ui(CT_IMAGE), ILE),
                     elem(0x00081155, "UI", ui(ref1), ILE)), ILE, undefined=True),
        item(dataset(elem(0x00081150, "UI", ui(CT_IMAGE), ILE),
                     elem(0x00081155, "UI", ui(ref2), ILE), inner), ILE),
    ]
    private_items = [item(dataset(elem(0x00080100, "SH", text("X1"), ILE)), ILE)]
    els = common(name) + [
        seq(0x00081140, items, ELE, undefined=True, vr="UN"),
        elem(0x00090010, "LO", text("DICOM2ION UN")),
        seq(0x00091000, private_items, ELE, undefined=True, vr="UN"),
        elem(0x00180015, "CS", text("HEAD")),                  # explicit again after it
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "un_undefined_sequence.dcm",
        "Explicit VR LE file whose ReferencedImageSequence (and a private element) is UN "
        "of undefined length holding implicit VR LE items, one with a nested sequence",
        True, data, expect={
            "values": [
                [["ReferencedImageSequence", 0, "ReferencedSOPInstanceUID"], ref1],
                [["ReferencedImageSequence", 1, "ReferencedSOPInstanceUID"], ref2],
                [["ReferencedImageSequence", 1, "DerivationCodeSequence", 0, "CodeValue"],
                 "121327"],
                [["00091000", 0, "CodeValue"], "X1"],
                [["BodyPartExamined"], "HEAD"],
            ],
            "annotations": [[["ReferencedImageSequence"], "UN"], [["00091000"], "UN"]],
            "lengths": [[["ReferencedImageSequence"], 2], [["00091000"], 1]],
        })


def _private_implicit(undefined: bool) -> Fixture:
    kind = "undefined" if undefined else "defined"
    name = f"private_sq_implicit_{kind}"
    items = [
        item(dataset(elem(0x00080100, "SH", text("T-1"), ILE),
                     elem(0x00080102, "SH", text("99TEST"), ILE)), ILE, undefined=undefined),
        item(dataset(elem(0x00080100, "SH", text("T-22"), ILE),
                     elem(0x00080104, "LO", text("second code"), ILE)), ILE, undefined=undefined),
    ]
    els = common(name, ILE) + [
        elem(0x00090010, "LO", text("DICOM2ION PRIVATE"), ILE),
        seq(0x00091010, items, ILE, undefined=undefined),
        elem(0x00091011, "LO", text("after"), ILE),
    ]
    data = p10(IMPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        f"{name}.dcm",
        f"Implicit VR LE file with a private sequence of {kind} length "
        f"(items of {kind} length) that no dictionary knows",
        True, data, expect={
            "values": [
                [["00090010"], "DICOM2ION PRIVATE"],
                [["00091010", 0, "CodeValue"], "T-1"],
                [["00091010", 0, "CodingSchemeDesignator"], "99TEST"],
                [["00091010", 1, "CodeValue"], "T-22"],
                [["00091010", 1, "CodeMeaning"], "second code"],
                [["00091011"], {"blob": text("after").hex()}],
            ],
            "lengths": [[["00091010"], 2]],
        })


@fixture
def private_sq_implicit_defined() -> Fixture:
    return _private_implicit(False)


@fixture
def private_sq_implicit_undefined() -> Fixture:
    return _private_implicit(True)


@fixture
def invalid_vr() -> Fixture:
    name = "invalid_vr"
    els = common(name) + [
        elem(0x00090010, "LO", text("DICOM2ION VR")),
        elem(0x00091010, "", b"\x01\x02\x03\x04\x05\x06", raw_vr=b"XX"),
        elem(0x00181030, "", b"PROTO1", raw_vr=b"ZZ"),
        elem(0x00181050, "DS", text("0.5")),                    # a normal element after them
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "invalid_vr.dcm",
        "Explicit VR LE elements whose VR bytes are uppercase letters but not a VR "
        "(XX on a private tag, ZZ on a standard tag), with the 4-byte length form",
        True, data, expect={
            "values": [
                [["00091010"], blob(b"\x01\x02\x03\x04\x05\x06")],
                [["ProtocolName"], blob(b"PROTO1")],
                [["SpatialResolution"], "0.5"],
            ],
            "annotations": [[["00091010"], "UN"], [["ProtocolName"], "UN"]],
            "wire": [[["elements", "00091010", "vr"], blob(b"XX")],
                     [["elements", "00181030", "vr"], blob(b"ZZ")]],
        })


@fixture
def odd_lengths_and_padding() -> Fixture:
    name = "odd_lengths_and_padding"
    els = [
        elem(0x00080016, "UI", ui(SECONDARY_CAPTURE)),
        elem(0x00080020, "DA", b""),                              # zero-length DA
        elem(0x00080030, "TM", b""),                              # zero-length TM
        elem(0x00080060, "CS", text("OT")),
        elem(0x00080070, "LO", b"ABC"),                           # odd, no padding
        elem(0x00080080, "LO", b"HOSP\0\0"),                      # NUL padded
        elem(0x00080090, "PN", b""),                              # zero-length PN
        elem(0x00081030, "LO", b"HEAD    "),                      # several trailing spaces
        seq(0x00081110, []),                                      # zero-length SQ
        elem(0x00082134, "FD", b""),                              # zero-length FD
        elem(0x00100010, "PN", b"Odd^Name"),
        elem(0x00100020, "LO", b"12345"),                         # odd, no padding
        elem(0x00181000, "LO", b"SN1\0"),                         # one NUL
        elem(0x0020000D, "UI", b"1.2.3"),                         # odd UID, no padding
        elem(0x0020000E, "UI", b"1.2.3.4 "),                      # UID padded with space
        elem(0x00280009, "AT", b""),                              # zero-length AT
        elem(0x00280010, "US", b""),                              # zero-length US
        elem(0x0040A160, "UT", b""),                              # zero-length UT
        elem(0x00420011, "OB", b"%PDF-"),                         # odd-length OB
        elem(0x00090010, "LO", text("DICOM2ION PAD")),
        elem(0x00091001, "UN", b""),                              # zero-length UN
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "odd_lengths_and_padding.dcm",
        "Odd-length text without padding, an odd-length OB, zero-length values of many "
        "VRs (DA TM PN FD AT US UT UN SQ), NUL-padded strings and runs of trailing spaces",
        True, data, expect={
            "values": [
                [["Manufacturer"], "ABC"],
                [["InstitutionName"], "HOSP"],
                [["StudyDescription"], "HEAD"],
                [["PatientName"], "Odd^Name"],
                [["PatientID"], "12345"],
                [["DeviceSerialNumber"], "SN1"],
                [["StudyInstanceUID"], "1.2.3"],
                [["SeriesInstanceUID"], "1.2.3.4"],
                [["EncapsulatedDocument"], blob(b"%PDF-")],
                [["StudyDate"], None], [["StudyTime"], None],
                [["ReferringPhysicianName"], None], [["EventTimeOffset"], None],
                [["FrameIncrementPointer"], None], [["Rows"], None], [["TextValue"], None],
                [["00091001"], None],
                [["ReferencedStudySequence"], []],
            ],
            # facts restoring the exact bytes: padding, or the raw bytes
            "wire_restores": [
                ["00080070", "ABC", b"ABC".hex()],
                ["00080080", "HOSP", b"HOSP\0\0".hex()],
                ["00081030", "HEAD", b"HEAD    ".hex()],
                ["00100020", "12345", b"12345".hex()],
                ["00181000", "SN1", b"SN1\0".hex()],
                ["0020000D", "1.2.3", b"1.2.3".hex()],
                ["0020000E", "1.2.3.4", b"1.2.3.4 ".hex()],
            ],
        })


@fixture
def group_lengths() -> Fixture:
    name = "group_lengths"
    groups: Dict[int, list] = {}
    for tag, b in common(name) + [
        elem(0x00080020, "DA", text("20240202")),
        elem(0x00090010, "LO", text("DICOM2ION GL")),
        elem(0x00091001, "LO", text("private")),
        elem(0x00200011, "IS", text("7")),
        elem(0x0020000D, "UI", ui(uid_for("gl-study"))),
        elem(0x00280010, "US", nums("H", 1)),
        elem(0x00280011, "US", nums("H", 1)),
    ]:
        groups.setdefault(tag >> 16, []).append((tag, b))
    els = []
    lengths = {}
    for group, members in groups.items():
        body = dataset(*members)
        lengths[group] = len(body)
        els.append(elem(group << 16, "UL", nums("L", len(body))))
        els.extend(members)
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "group_lengths.dcm",
        "Group length elements (gggg,0000) in groups 0008, 0009 (private), 0010, 0020 and 0028",
        True, data, expect={
            "values": [[["%04X0000" % g], n] for g, n in sorted(lengths.items())]
            + [[["FileMetaInformationGroupLength"],
                len(meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))) - 12]],
        })


@fixture
def out_of_order() -> Fixture:
    name = "out_of_order"
    seq_item = item(dataset(elem(0x00081155, "UI", ui(uid_for("ooo-ref"))),
                            elem(0x00081150, "UI", ui(CT_IMAGE)), keep_order=True))
    els = [
        elem(0x00080060, "CS", text("OT")),
        elem(0x00080020, "DA", text("20240101")),
        elem(0x00100020, "LO", text("ID-A")),
        elem(0x00100010, "PN", text("Order^Out")),
        elem(0x00100020, "LO", text("ID-B")),        # the same tag again
        elem(0x00080070, "LO", text("LATE")),
        seq(0x00081110, [seq_item]),
    ]
    data = p10(EXPLICIT_LE, dataset(*els, keep_order=True), name=name)
    return Fixture(
        "out_of_order.dcm",
        "Elements out of ascending tag order (top level and in an item) and a repeated "
        "tag (0010,0020) with two different values",
        True, data, expect={
            "values": [
                [["Modality"], "OT"], [["StudyDate"], "20240101"],
                [["PatientName"], "Order^Out"], [["Manufacturer"], "LATE"],
                [["ReferencedStudySequence", 0, "ReferencedSOPClassUID"], CT_IMAGE],
            ],
            "wire": [
                # the meta group belongs to the top-level data set of the Ion document
                [["order", ""], ["00020000", "00020001", "00020002", "00020003", "00020010",
                                 "00020012", "00020013",
                                 "00080060", "00080020", "00100020", "00100010", "00100020",
                                 "00080070", "00081110"]],
                [["order", "00081110/0"], ["00081155", "00081150"]],
            ],
            "repeated": [["PatientID", ["ID-A", "ID-B"]]],
        })


@fixture
def trailing_padding() -> Fixture:
    name = "trailing_padding"
    els = common(name) + [elem(0xFFFCFFFC, "OB", bytes(16))]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "trailing_padding.dcm",
        "Data set ending with a (FFFC,FFFC) Data Set Trailing Padding element of 16 zeros",
        True, data, expect={
            "values": [[["DataSetTrailingPadding"], blob(bytes(16))]],
            "absent_wire": ["trailing"],
        })


TRAILING_SHORT = b"\x0d\x0a\x1a\x00\x7f"
TRAILING_GARBAGE = b"\x8a\x3c\x00\x11\x07\x93\xde\xad\xbe\xef\x00\x01"


@fixture
def trailing_short() -> Fixture:
    name = "trailing_short"
    data = p10(EXPLICIT_LE, dataset(*common(name)), name=name) + TRAILING_SHORT
    return Fixture(
        "trailing_short.dcm",
        f"{len(TRAILING_SHORT)} raw bytes after the last element (too few for an element header)",
        True, data, expect={"wire": [[["trailing"], blob(TRAILING_SHORT)]]})


@fixture
def trailing_garbage() -> Fixture:
    name = "trailing_garbage"
    assert not (TRAILING_GARBAGE[4:6].isalpha() and TRAILING_GARBAGE[4:6].isupper())
    data = p10(EXPLICIT_LE, dataset(*common(name)), name=name) + TRAILING_GARBAGE
    return Fixture(
        "trailing_garbage.dcm",
        f"{len(TRAILING_GARBAGE)} bytes after the last element whose would-be VR bytes "
        "are not letters",
        True, data, expect={"wire": [[["trailing"], blob(TRAILING_GARBAGE)]]})


def _fragment_records(data: bytes, fragments: List[bytes]) -> list:
    """[position, length, sha256] of fragments located in the file bytes."""
    return [[only(data, f), len(f), sha(f)] for f in fragments]


@fixture
def jpeg_icon_nested() -> Fixture:
    name = "jpeg_icon_nested"
    frag_a = fake_jpeg("frame1-a", 120, end=False)
    frag_b = fake_jpeg("frame1-b", 64, start=False)
    frag_c = fake_jpeg("frame2", 150)
    icon = fake_jpeg("icon", 40)
    second_frame = 16 + len(frag_a) + len(frag_b)
    icon_item = item(dataset(
        elem(0x00280002, "US", nums("H", 1)),
        elem(0x00280004, "CS", text("MONOCHROME2")),
        elem(0x00280010, "US", nums("H", 4)),
        elem(0x00280011, "US", nums("H", 4)),
        elem(0x00280100, "US", nums("H", 8)),
        elem(0x00280101, "US", nums("H", 8)),
        elem(0x00280102, "US", nums("H", 7)),
        elem(0x00280103, "US", nums("H", 0)),
        encapsulated(0x7FE00010, [], [icon]),
    ), undefined=True)
    els = common(name, sop_class=US_MULTIFRAME, modality="US") + [
        elem(0x00280002, "US", nums("H", 1)),
        elem(0x00280004, "CS", text("MONOCHROME2")),
        elem(0x00280008, "IS", text("2")),
        elem(0x00280010, "US", nums("H", 8)),
        elem(0x00280011, "US", nums("H", 8)),
        elem(0x00280100, "US", nums("H", 8)),
        elem(0x00280101, "US", nums("H", 8)),
        elem(0x00280102, "US", nums("H", 7)),
        elem(0x00280103, "US", nums("H", 0)),
        seq(0x00880200, [icon_item], undefined=True),
        encapsulated(0x7FE00010, [0, second_frame], [frag_a, frag_b, frag_c]),
    ]
    data = p10(JPEG_BASELINE, dataset(*els), name=name, sop_class=US_MULTIFRAME)
    pix_header = header(0x7FE00010, "OB", UNDEFINED)
    top = data.rindex(pix_header) + 12
    top_len = len(data) - top
    icon_start = data.index(pix_header) + 12
    icon_len = 8 + 8 + len(icon) + 8
    exp = {
        "values": [
            [["NumberOfFrames"], "2"],
            [["PixelData", "encapsulatedPixelData"], True],
            [["PixelData", "basicOffsetTable"], [0, second_frame]],
            [["PixelData", "frames"], [[0, 2], [2, 1]]],
            [["PixelData", "dataOffset"], top],
            [["PixelData", "length"], top_len],
            [["PixelData", "sha256"], sha(data[top:])],
            [["IconImageSequence", 0, "Rows"], 4],
            [["IconImageSequence", 0, "PixelData", "encapsulatedPixelData"], True],
            [["IconImageSequence", 0, "PixelData", "basicOffsetTable"], []],
            [["IconImageSequence", 0, "PixelData", "dataOffset"], icon_start],
            [["IconImageSequence", 0, "PixelData", "length"], icon_len],
            [["IconImageSequence", 0, "PixelData", "sha256"],
             sha(data[icon_start:icon_start + icon_len])],
        ],
        "fragments": [
            [["PixelData"], _fragment_records(data, [frag_a, frag_b, frag_c])],
            [["IconImageSequence", 0, "PixelData"], _fragment_records(data, [icon])],
        ],
    }
    return Fixture(
        "jpeg_icon_nested.dcm",
        "JPEG baseline, 2 frames in 3 fragments with a basic offset table, and an "
        "IconImageSequence item holding its own encapsulated PixelData",
        True, data, expect=exp)


@fixture
def encaps_empty_bot() -> Fixture:
    name = "encaps_empty_bot"
    frames = [fake_jpeg(f"ebot-{i}", 90 + 10 * i) for i in range(3)]
    els = common(name, sop_class=US_MULTIFRAME, modality="US") + [
        elem(0x00280002, "US", nums("H", 1)),
        elem(0x00280004, "CS", text("MONOCHROME2")),
        elem(0x00280008, "IS", text("3")),
        elem(0x00280010, "US", nums("H", 8)),
        elem(0x00280011, "US", nums("H", 8)),
        elem(0x00280100, "US", nums("H", 8)),
        elem(0x00280101, "US", nums("H", 8)),
        elem(0x00280102, "US", nums("H", 7)),
        elem(0x00280103, "US", nums("H", 0)),
        encapsulated(0x7FE00010, [], frames),
    ]
    data = p10(JPEG_LOSSLESS_SV1, dataset(*els), name=name, sop_class=US_MULTIFRAME)
    return Fixture(
        "encaps_empty_bot.dcm",
        "Encapsulated pixel data with an empty basic offset table and one fragment per "
        "frame (NumberOfFrames 3)",
        True, data, expect={
            "values": [
                [["NumberOfFrames"], "3"],
                [["PixelData", "encapsulatedPixelData"], True],
                [["PixelData", "basicOffsetTable"], []],
                [["PixelData", "frames"], [[0, 1], [1, 1], [2, 1]]],
            ],
            "fragments": [[["PixelData"], _fragment_records(data, frames)]],
        })


BE_ROWS, BE_COLUMNS = 2, 4
BE_SMALLEST = 0x1234
BE_ACQ_MATRIX = (0x0100, 0x0002, 0x0300, 0x0004)
BE_VERTICES = (-5, 300, -32768, 32767)
BE_CURSOR = (1.25, -2.5)
BE_GRADIENT = (0.5, -0.25, 1e300)
BE_PIXELS = (0x0001, 0x0203, 0x0405, 0x0607, 0x0809, 0x0A0B, 0x0C0D, 0xFEDC)


@fixture
def explicit_be() -> Fixture:
    name = "explicit_be"
    ref = uid_for("be-ref")
    ref_item = item(dataset(elem(0x00081150, "UI", ui(CT_IMAGE), EBE),
                            elem(0x00081155, "UI", ui(ref), EBE),
                            elem(0x00081160, "IS", text("1"), EBE)), EBE)
    els = common(name, EBE) + [
        seq(0x00081140, [ref_item], EBE),
        elem(0x00181310, "US", nums("H", *BE_ACQ_MATRIX, syn=EBE), EBE),
        elem(0x00181320, "FL", nums("f", 1.5, syn=EBE), EBE),
        elem(0x00182043, "FL", nums("f", *BE_CURSOR, syn=EBE), EBE),
        elem(0x00189089, "FD", nums("d", *BE_GRADIENT, syn=EBE), EBE),
        elem(0x00189219, "SS", nums("h", -2, syn=EBE), EBE),
        elem(0x00280002, "US", nums("H", 1, syn=EBE), EBE),
        elem(0x00280004, "CS", text("MONOCHROME2"), EBE),
        elem(0x00280009, "AT", at(0x00181063, 0x00181065, syn=EBE), EBE),
        elem(0x00280010, "US", nums("H", BE_ROWS, syn=EBE), EBE),
        elem(0x00280011, "US", nums("H", BE_COLUMNS, syn=EBE), EBE),
        elem(0x00280100, "US", nums("H", 16, syn=EBE), EBE),
        elem(0x00280101, "US", nums("H", 16, syn=EBE), EBE),
        elem(0x00280102, "US", nums("H", 15, syn=EBE), EBE),
        elem(0x00280103, "US", nums("H", 0, syn=EBE), EBE),
        elem(0x00280106, "US", nums("H", BE_SMALLEST, syn=EBE), EBE),
        elem(0x00289503, "SS", nums("h", *BE_VERTICES, syn=EBE), EBE),
        elem(0x7FE00010, "OW", nums("H", *BE_PIXELS, syn=EBE), EBE),
    ]
    data = p10(EXPLICIT_BE, dataset(*els), name=name)
    return Fixture(
        "explicit_be.dcm",
        "Explicit VR big endian data set: single and multi-valued US, SS, FL, FD and AT, "
        "a sequence, and OW pixel data",
        True, data, expect={
            "values": [
                [["Rows"], BE_ROWS], [["Columns"], BE_COLUMNS],
                [["SmallestImagePixelValue"], BE_SMALLEST],
                [["TagAngleSecondAxis"], -2],
                [["B1rms"], 1.5],
                [["AcquisitionMatrix"], blob(struct.pack("<4H", *BE_ACQ_MATRIX))],
                [["VerticesOfTheRegion"], blob(struct.pack("<4h", *BE_VERTICES))],
                [["LocalizingCursorPosition"], blob(struct.pack("<2f", *BE_CURSOR))],
                [["DiffusionGradientOrientation"], blob(struct.pack("<3d", *BE_GRADIENT))],
                [["FrameIncrementPointer"], "00181063\\00181065"],
                [["PixelData"], blob(struct.pack("<8H", *BE_PIXELS))],
                [["ReferencedImageSequence", 0, "ReferencedSOPInstanceUID"], ref],
                [["ReferencedImageSequence", 0, "ReferencedFrameNumber"], "1"],
                [["PhotometricInterpretation"], "MONOCHROME2"],
            ],
            "annotations": [[["SmallestImagePixelValue"], "US"], [["PixelData"], "OW"]],
        })


def _deflate_body(name: str) -> bytes:
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
             "tempor incididunt ut labore et dolore magna aliqua").split()
    rng = random.Random(20240607)
    comments = " ".join(rng.choice(words) for _ in range(260))
    els = common(name) + [
        elem(0x00080020, "DA", text("20240607")),
        elem(0x00082111, "ST", text("derived " * 20)),
        elem(0x00204000, "LT", text(comments)),
        elem(0x00280010, "US", nums("H", 1)),
    ]
    return dataset(*els)


def _deflated(level: int) -> Fixture:
    name = f"deflated_l{level}"
    body = _deflate_body(name)
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    raw = comp.compress(body) + comp.flush()
    if level == 1:   # make sure the file tells level 1 apart from the usual levels
        for other in (6, 9):
            c = zlib.compressobj(other, zlib.DEFLATED, -15)
            assert c.compress(body) + c.flush() != raw, other
    data = p10(DEFLATED_LE, raw, name=name)
    return Fixture(
        f"{name}.dcm",
        f"Deflated explicit VR LE: data set compressed as raw deflate (wbits -15) at level {level}",
        True, data, expect={
            "values": [[["PatientName"], "Fixture^" + name.title().replace("_", "")],
                       [["StudyDate"], "20240607"], [["Rows"], 1]],
            "wire": [[["deflate", "dataOffset"], len(data) - len(raw)],
                     [["deflate", "length"], len(raw)],
                     [["deflate", "sha256"], sha(raw)]],
            "inflated_sha256": sha(body),
        })


@fixture
def deflated_l6() -> Fixture:
    return _deflated(6)


@fixture
def deflated_l1() -> Fixture:
    return _deflated(1)


def _image_elements(name: str, syn: Syntax) -> list:
    return common(name, syn) + [
        elem(0x00280010, "US", nums("H", 16, syn=syn), syn),
        elem(0x00280011, "US", nums("H", 8, syn=syn), syn),
        elem(0x00281050, "DS", text("40\\400"), syn),
    ]


def _plain_values(name: str) -> list:
    return [[["PatientName"], "Fixture^" + name.title().replace("_", "")[:40]],
            [["Rows"], 16], [["Columns"], 8], [["WindowCenter"], "40\\400"]]


@fixture
def no_preamble_meta() -> Fixture:
    name = "no_preamble_meta"
    data = p10(EXPLICIT_LE, dataset(*_image_elements(name, ELE)), name=name, preamble=None)
    return Fixture(
        "no_preamble_meta.dcm",
        "No 128-byte preamble or DICM prefix, but a file meta group (explicit VR LE)",
        True, data, expect={"values": _plain_values(name) + [[["TransferSyntaxUID"], EXPLICIT_LE]],
                            "wire": [[["preamble"], None]]})


@fixture
def no_preamble_no_meta() -> Fixture:
    name = "no_preamble_no_meta"
    data = dataset(*_image_elements(name, ILE))
    return Fixture(
        "no_preamble_no_meta.dcm",
        "A bare implicit VR LE data set: no preamble, no DICM, no meta group",
        True, data, expect={"values": _plain_values(name), "wire": [[["preamble"], None]],
                            "absent": [["TransferSyntaxUID"], ["FileMetaInformationGroupLength"]],
                            "fileInfo_absent": ["transferSyntaxUID"],
                            "fileInfo": [["encoding", "implicit-le"]]})


@fixture
def meta_no_group_length() -> Fixture:
    name = "meta_no_group_length"
    data = p10(EXPLICIT_LE, dataset(*_image_elements(name, ELE)), name=name, group_length=False)
    return Fixture(
        "meta_no_group_length.dcm",
        "File meta group without (0002,0000) FileMetaInformationGroupLength",
        True, data, expect={"values": _plain_values(name) + [[["TransferSyntaxUID"], EXPLICIT_LE]],
                            "absent": [["FileMetaInformationGroupLength"]]})


@fixture
def meta_no_transfer_syntax() -> Fixture:
    name = "meta_no_transfer_syntax"
    data = p10(None, dataset(*_image_elements(name, ILE)), name=name)
    return Fixture(
        "meta_no_transfer_syntax.dcm",
        "File meta group without (0002,0010) TransferSyntaxUID; the data set is implicit VR LE",
        True, data, expect={"values": _plain_values(name) + [
                                [["MediaStorageSOPInstanceUID"], uid_for(name)]],
                            "absent": [["TransferSyntaxUID"]],
                            "fileInfo_absent": ["transferSyntaxUID"],
                            "fileInfo": [["encoding", "implicit-le"]]})


@fixture
def wrong_syntax() -> Fixture:
    name = "wrong_syntax"
    data = p10(EXPLICIT_LE, dataset(*_image_elements(name, ILE)), name=name)
    return Fixture(
        "wrong_syntax.dcm",
        "Meta group declares explicit VR LE but the data set is implicit VR LE",
        True, data, expect={"values": _plain_values(name) + [[["TransferSyntaxUID"], EXPLICIT_LE]],
                            "wire": [[["encoding"], "implicit-le"]],
                            "fileInfo": [["transferSyntaxUID", EXPLICIT_LE],
                                         ["encoding", "implicit-le"]]})


TIFF_PREAMBLE = (b"II*\x00" + struct.pack("<L", 8) + struct.pack("<H", 1)
                 + struct.pack("<HHLL", 0x010E, 2, 32, 0x20)  # ImageDescription -> offset 32
                 + struct.pack("<L", 0)
                 + b"\x00" * 6 + b"dicom2ion dual TIFF/DICOM header\x00")
TIFF_PREAMBLE = TIFF_PREAMBLE + bytes(128 - len(TIFF_PREAMBLE))


@fixture
def tiff_preamble() -> Fixture:
    name = "tiff_preamble"
    assert len(TIFF_PREAMBLE) == 128
    data = p10(EXPLICIT_LE, dataset(*_image_elements(name, ELE)), name=name,
               preamble=TIFF_PREAMBLE)
    return Fixture(
        "tiff_preamble.dcm",
        "A non-zero preamble: a little TIFF header with an IFD (dual-personality file)",
        True, data, expect={"values": _plain_values(name),
                            "wire": [[["preamble"], blob(TIFF_PREAMBLE)]]})


SV_VALUE = 2 ** 53 + 1
UV_VALUE = 2 ** 64 - 3
UV_MULTI = (2 ** 63, 2 ** 53 + 1)
FL_QUIET_NAN = 0x7FC12345            # quiet NaN with a payload
FL_SIGNALING_NAN = 0x7F800001        # signaling NaN
FD_NAN = 0x7FF80000DEADBEEF          # quiet NaN with a payload


@fixture
def numbers_edge() -> Fixture:
    name = "numbers_edge"
    els = common(name) + [
        elem(0x0008040C, "UV", nums("Q", UV_VALUE)),
        elem(0x00082134, "FD", nums("d", -0.0)),
        elem(0x00109431, "FL", struct.pack("<L", FL_QUIET_NAN)),
        elem(0x00181320, "FL", struct.pack("<L", FL_SIGNALING_NAN)),
        elem(0x001811B7, "FD", struct.pack("<Q", FD_NAN)),
        elem(0x00280009, "AT", at(0x00181063, 0x00181065, 0x00209153)),
        elem(0x00720082, "SV", nums("q", SV_VALUE)),
        elem(0x00720083, "UV", nums("Q", *UV_MULTI)),
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return Fixture(
        "numbers_edge.dcm",
        "Multi-valued AT (3 tags), SV and UV beyond 2**53, FL quiet NaN with a payload, "
        "FL signaling NaN, FD NaN with a payload and FD -0.0",
        True, data, expect={
            "values": [
                [["FrameIncrementPointer"], "00181063\\00181065\\00209153"],
                [["SelectorSVValue"], SV_VALUE],
                [["FileOffsetInContainer"], UV_VALUE],
                [["SelectorUVValue"], blob(struct.pack("<2Q", *UV_MULTI))],
            ],
            # [keyword, struct code, little-endian value bytes]
            "floats": [["ExaminedBodyThickness", "f", struct.pack("<L", FL_QUIET_NAN).hex()],
                       ["B1rms", "f", struct.pack("<L", FL_SIGNALING_NAN).hex()],
                       ["ContrastBolusInjectionDelay", "d", struct.pack("<Q", FD_NAN).hex()],
                       ["EventTimeOffset", "d", struct.pack("<d", -0.0).hex()]],
        })


LATIN1_NAME = "Müller^Jürgen"
LATIN1_INSTITUTION = "Hôpital Saint-Éloi"
UTF8_NAME = "Wang^XiaoDong=王^小東="
UTF8_INSTITUTION = "Klinik Zürich – Ωmega"
JIS_NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"
# PS3.5 H.3.1, written out byte by byte (ISO 2022 IR 87 with ESC $ B / ESC ( B)
JIS_NAME_BYTES = (b"Yamada^Tarou="
                  b"\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
                  b"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
INVALID_UTF8 = b"Caf\xe9^Ren\xe9"      # Latin-1 bytes mislabelled as UTF-8


def _charset_fixture(name, charset_value: bytes, name_bytes: bytes, description,
                     values: list, wire: Optional[list] = None, extra=()) -> Fixture:
    els = [
        elem(0x00080005, "CS", text(charset_value)),
        elem(0x00080016, "UI", ui(SECONDARY_CAPTURE)),
        elem(0x00080018, "UI", ui(uid_for(name))),
        elem(0x00080060, "CS", text("OT")),
        elem(0x00100010, "PN", text(name_bytes)),
        elem(0x00100020, "LO", text("CHARSET-1")),
        *extra,
    ]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    exp = {"values": values}
    if wire:
        exp["wire"] = wire
    return Fixture(f"{name}.dcm", description, True, data, expect=exp)


@fixture
def charset_latin1() -> Fixture:
    return _charset_fixture(
        "charset_latin1", b"ISO_IR 100", LATIN1_NAME.encode("latin-1"),
        "SpecificCharacterSet ISO_IR 100 with Latin-1 names",
        [[["SpecificCharacterSet"], "ISO_IR 100"], [["PatientName"], LATIN1_NAME],
         [["InstitutionName"], LATIN1_INSTITUTION]],
        extra=[elem(0x00080080, "LO", text(LATIN1_INSTITUTION.encode("latin-1")))])


@fixture
def charset_utf8() -> Fixture:
    return _charset_fixture(
        "charset_utf8", b"ISO_IR 192", UTF8_NAME.encode("utf-8"),
        "SpecificCharacterSet ISO_IR 192 (UTF-8) with Chinese and Greek characters",
        [[["SpecificCharacterSet"], "ISO_IR 192"], [["PatientName"], UTF8_NAME],
         [["InstitutionName"], UTF8_INSTITUTION]],
        extra=[elem(0x00080080, "LO", text(UTF8_INSTITUTION.encode("utf-8")))])


@fixture
def charset_jis() -> Fixture:
    assert JIS_NAME_BYTES == b"=".join(
        b"^".join(part.encode("iso2022_jp") for part in group.split("^"))
        for group in JIS_NAME.split("="))
    return _charset_fixture(
        "charset_jis", b"\\ISO 2022 IR 87", JIS_NAME_BYTES,
        "SpecificCharacterSet \\ISO 2022 IR 87: Japanese PN with ISO 2022 escape sequences "
        "(PS3.5 H.3.1)",
        [[["SpecificCharacterSet"], "\\ISO 2022 IR 87"], [["PatientName"], JIS_NAME]])


@fixture
def charset_invalid_utf8() -> Fixture:
    return _charset_fixture(
        "charset_invalid_utf8", b"ISO_IR 192", INVALID_UTF8,
        "SpecificCharacterSet ISO_IR 192 but a PatientName whose bytes are not valid UTF-8",
        [[["SpecificCharacterSet"], "ISO_IR 192"], [["PatientID"], "CHARSET-1"]],
        wire=[[["elements", "00100010", "raw"], blob(text(INVALID_UTF8))]])


# -- broken files --------------------------------------------------------------------
@fixture
def truncated_value() -> Fixture:
    name = "truncated_value"
    els = common(name) + [elem(0x00280010, "US", nums("H", 16)),
                          elem(0x00280011, "US", nums("H", 16)),
                          elem(0x7FE00010, "OW", ct_pixels())]
    whole = p10(EXPLICIT_LE, dataset(*els), name=name)
    pixel = only(whole, header(0x7FE00010, "OW", 512))
    data = whole[:pixel + 12 + 100]
    return Fixture("truncated_value.dcm",
                   "File cut 100 bytes into the 512-byte value of PixelData",
                   False, data, error={"offset": pixel, "message": "truncated"})


@fixture
def truncated_in_sequence() -> Fixture:
    name = "truncated_in_sequence"
    it = item(dataset(elem(0x00081150, "UI", ui(CT_IMAGE)),
                      elem(0x00081155, "UI", ui(uid_for("trunc-ref")))), undefined=True)
    _, sq = seq(0x00081140, [it], undefined=True)
    sq = sq[:-8]          # drop the sequence delimiter: the file ends inside the sequence
    data = p10(EXPLICIT_LE, dataset(*common(name)) + sq, name=name)
    return Fixture("truncated_in_sequence.dcm",
                   "File ends after a complete item of an undefined-length sequence, "
                   "before its sequence delimiter",
                   False, data, error={"offset": len(data), "message": "inside a sequence"})


@fixture
def length_past_end() -> Fixture:
    name = "length_past_end"
    tag, el = elem(0x00420011, "OB", b"%PDF-1.4\n%", length=0x7FFFFFF0)
    body = dataset(*common(name))
    data = p10(EXPLICIT_LE, body + el, name=name)
    return Fixture("length_past_end.dcm",
                   "EncapsulatedDocument declares 0x7FFFFFF0 bytes; the file has 10",
                   False, data, error={"offset": len(data) - len(el), "message": "past the end"})


DEEP_LEVELS = 200
DEPTH_LIMIT = 64      # dicom2ion's default max_depth: nested containers + the data set


@fixture
def deep_nesting() -> Fixture:
    name = "deep_nesting"
    # implicit VR LE: each level is a sequence header and an item header of undefined
    # length (8 + 8 bytes). No delimiters: the depth limit must fire long before the end.
    level = header(0x00081140, "SQ", UNDEFINED, ILE) + delim(ITEM, ILE, UNDEFINED)
    prefix = p10(IMPLICIT_LE, dataset(*common(name, ILE)), name=name)
    data = prefix + level * DEEP_LEVELS
    # containers open in the order seq, item, seq, item, ...; the data set is level 1,
    # so container number DEPTH_LIMIT (index DEPTH_LIMIT - 1) is one too many.
    index = DEPTH_LIMIT - 1
    offset = len(prefix) + 16 * (index // 2) + 8 * (index % 2)
    return Fixture("deep_nesting.dcm",
                   f"Sequences nested {DEEP_LEVELS} levels deep (implicit VR LE, undefined "
                   "lengths, no delimiters): must stop at the depth limit",
                   False, data, error={"offset": offset, "message": "nesting deeper"})


def _garbage() -> bytes:
    """1 KB of seeded random bytes whose first 8 bytes, read as an implicit
    element header in either byte order, are a private non-creator tag
    (UN) claiming more than 1 MB: the first header already runs past the end."""
    seed = 1024
    while True:
        data = random.Random(seed).randbytes(1024)
        b = data
        lengths = struct.unpack("<L", b[4:8])[0], struct.unpack(">L", b[4:8])[0]
        if (b[0] & 1 and b[1] & 1 and b[2] and b[3]
                and not (b[4:6].isalpha() and b[4:6].isupper())
                and all(1 << 20 < n < UNDEFINED for n in lengths)
                and b[128:132] != b"DICM"):
            return data
        seed += 1


@fixture
def garbage_1k() -> Fixture:
    return Fixture("garbage_1k.dcm",
                   "1024 random bytes (fixed seed): no preamble, no meta, and the first "
                   "element header claims more bytes than the file has",
                   False, _garbage(), error={"offset": 0, "message": "past the end"})


@fixture
def empty() -> Fixture:
    return Fixture("empty.dcm", "A zero-byte file", False, b"",
                   error={"offset": 0, "message": "empty"})


@fixture
def preamble_only() -> Fixture:
    return Fixture("preamble_only.dcm",
                   "Only a zero preamble and DICM: no meta group, no data set",
                   False, ZERO_PREAMBLE + b"DICM",
                   error={"offset": 132, "message": "no data"})


# -- damaged files (issue 12) --------------------------------------------------------
# One file per kind of damage found in real archives or by tools/fuzz.py, named
# damaged_*.dcm; "damage" in the manifest gives its class and the byte offset
# where the damage is. Today's reader refuses each at that offset (the "error").

def _damaged(name: str, description: str, data: bytes, klass: str, offset: int,
             message: str, error_offset: Optional[int] = None) -> Fixture:
    return Fixture(f"damaged_{name}.dcm", description, False, data,
                   error={"offset": offset if error_offset is None else error_offset,
                          "message": message},
                   damage={"class": klass, "offset": offset})


@fixture
def damaged_meta_sequence() -> Fixture:
    name = "damaged_meta_sequence"
    # a meta element of undefined length (here an SQ holding one item) before the
    # transfer syntax: the first tag outside group 0002 (the item tag) used to end
    # the meta group with the sequence still open
    it = item(dataset(elem(0x00020002, "UI", ui(SECONDARY_CAPTURE))), undefined=True)
    _, sq = seq(0x00020009, [it], undefined=True)
    good = meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))
    head = ZERO_PREAMBLE + b"DICM" + good
    cut = only(head, header(0x00020010, "UI", len(ui(EXPLICIT_LE))))
    data = head[:cut] + sq + head[cut:] + dataset(*common(name))
    return _damaged("meta_sequence",
                    "A sequence of undefined length, (0002,0009), inside the file meta group",
                    data, "meta-sequence", cut, "file meta group cannot hold a sequence")


@fixture
def damaged_meta_in_data_set() -> Fixture:
    name = "damaged_meta_in_data_set"
    # a copy of the meta group's ImplementationVersionName after the body's first
    # element: read as a data set element, it used to move into the meta group
    # on the way back (verify: "structure -- DataSetStart vs Element")
    stray = elem(0x00020013, "SH", text(IMPLEMENTATION_NAME))[1]
    els = common(name)
    head = ZERO_PREAMBLE + b"DICM" + meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))
    first = dataset(els[0])
    at = len(head) + len(first)
    data = head + first + stray + dataset(*els[1:])
    return _damaged("meta_in_data_set",
                    "A file meta element, (0002,0013), repeated inside the data set after "
                    "its first element", data, "meta-element-in-data-set", at,
                    "file meta element in the data set")


@fixture
def damaged_meta_group_number() -> Fixture:
    name = "damaged_meta_group_number"
    # the group number of (0002,0000) damaged to 0012: there is no meta group, the
    # data set starts at 132 and the other meta elements follow inside it
    good = meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))
    damaged = struct.pack("<H", 0x0012) + good[2:]
    data = ZERO_PREAMBLE + b"DICM" + damaged + dataset(*common(name))
    return _damaged("meta_group_number",
                    "The group number of FileMetaInformationGroupLength damaged from 0002 "
                    "to 0012: the meta elements after it stand in the data set",
                    data, "meta-element-in-data-set", 132, "file meta element in the data set",
                    error_offset=132 + 12)


def _image(name: str) -> Tuple[bytes, int]:
    """A small explicit VR LE image file and the offset of its PixelData header."""
    els = common(name) + [elem(0x00280010, "US", nums("H", 4)),
                          elem(0x00280011, "US", nums("H", 4)),
                          elem(0x00280100, "US", nums("H", 16)),
                          elem(0x7FE00010, "OW", fake_bytes(name, 32))]
    data = p10(EXPLICIT_LE, dataset(*els), name=name)
    return data, only(data, header(0x7FE00010, "OW", 32))


@fixture
def damaged_cut_in_pixel_header() -> Fixture:
    name = "damaged_cut_in_pixel_header"
    whole, pixel = _image(name)
    data = whole[:pixel + 4]      # (7FE0,0010) and nothing else: the image is gone
    return _damaged("cut_in_pixel_header",
                    "File cut 4 bytes into the 12-byte PixelData header (like head -c 6292 "
                    "CT_small.dcm): not trailing bytes", data, "cut-in-header", pixel,
                    "4 bytes into an element header")


@fixture
def damaged_cut_in_meta_header() -> Fixture:
    name = "damaged_cut_in_meta_header"
    whole = p10(EXPLICIT_LE, dataset(*common(name)), name=name)
    at = only(whole, header(0x00020013, "SH", len(text(IMPLEMENTATION_NAME))))
    data = whole[:at + 6]         # tag and VR of ImplementationVersionName
    return _damaged("cut_in_meta_header",
                    "File cut 6 bytes into the header of the last meta element, "
                    "(0002,0013) SH", data, "cut-in-header", at, "6 bytes into an element header")


@fixture
def damaged_deflate_truncated() -> Fixture:
    name = "damaged_deflate_truncated"
    body = _deflate_body(name)
    first = only(body, header(0x00280010, "US", 2))   # the inflated bytes end before Rows
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = comp.compress(body[:first]) + comp.flush(zlib.Z_SYNC_FLUSH)
    data = p10(DEFLATED_LE, raw, name=name)
    return _damaged("deflate_truncated",
                    "Deflated data set cut after a sync flush: the inflated bytes end "
                    "between two elements but the compressed stream has no final block",
                    data, "deflate-truncated", len(data), "compressed stream")


META_TAIL = b"\x02\x00\x01\x00\x00"


@fixture
def damaged_deflate_meta_tail() -> Fixture:
    name = "damaged_deflate_meta_tail"
    # 5 bytes after the meta group of a deflated file, starting with group 0002 but
    # below the last meta tag: they are the start of the deflated data set (whose
    # compressed stream never ends), not trailing bytes of the meta group
    head = ZERO_PREAMBLE + b"DICM" + meta(DEFLATED_LE, SECONDARY_CAPTURE, uid_for(name))
    data = head + META_TAIL
    return _damaged("deflate_meta_tail",
                    "Deflated transfer syntax; the meta group is followed by only 5 bytes "
                    "that begin with group 0002", data, "deflate-truncated", len(head),
                    "compressed stream", error_offset=len(data))


@fixture
def damaged_lost_sequence_header() -> Fixture:
    name = "damaged_lost_sequence_header"
    # ReferencedStudySequence lost its 12-byte header: its item follows a plain element
    it = item(dataset(elem(0x00081150, "UI", ui(STUDY_COMPONENT)),
                      elem(0x00081155, "UI", ui(uid_for("lost-ref")))))
    before = dataset(*common(name)[:2])
    head = p10(EXPLICIT_LE, before, name=name)
    data = head + it + dataset(*common(name)[2:])
    return _damaged("lost_sequence_header",
                    "An item (FFFE,E000) right after SOPInstanceUID: the header of its "
                    "sequence is missing", data, "lost-sequence-header", len(head),
                    "item tag outside a sequence")


@fixture
def damaged_stray_item_after_empty_sequence() -> Fixture:
    name = "damaged_stray_item_after_empty_sequence"
    els = common(name)
    head = p10(EXPLICIT_LE, dataset(*els[:3]) + seq(0x00081110, [])[1], name=name)
    data = head + delim(ITEM, ELE, 0) + dataset(*els[3:])
    return _damaged("stray_item_after_empty_sequence",
                    "ReferencedStudySequence of length 0 followed by a stray zero-length item",
                    data, "stray-item", len(head), "item tag outside a sequence")


@fixture
def damaged_delimiter_after_data_set() -> Fixture:
    name = "damaged_delimiter_after_data_set"
    head = p10(EXPLICIT_LE, dataset(*common(name)), name=name)
    data = head + delim(SEQ_END, ELE, 0)
    return _damaged("delimiter_after_data_set",
                    "A sequence delimiter (FFFE,E0DD) after the last element of the data set",
                    data, "delimiter-after-data-set", len(head),
                    "sequence delimiter outside an undefined-length sequence")


@fixture
def damaged_truncated_in_item() -> Fixture:
    name = "damaged_truncated_in_item"
    inner = dataset(elem(0x00081150, "UI", ui(CT_IMAGE)),
                    elem(0x00081155, "UI", ui(uid_for("cut-item"))))
    it = item(inner, undefined=True)
    _, sq = seq(0x00081140, [it], undefined=True)
    whole = p10(EXPLICIT_LE, dataset(*common(name), (0x00081140, sq)), name=name)
    at = only(whole, header(0x00081155, "UI", len(ui(uid_for("cut-item"))))) + 8 + 10
    data = whole[:at]             # 10 bytes into the value of the item's second element
    return _damaged("truncated_in_item",
                    "File cut inside the value of the second element of an undefined-length "
                    "item", data, "truncated-in-item", at, "truncated: value of length",
                    error_offset=at - 18)


@fixture
def damaged_truncated_in_fragments() -> Fixture:
    name = "damaged_truncated_in_fragments"
    frames = [fake_jpeg(name + "0", 64), fake_jpeg(name + "1", 64)]
    els = common(name) + [elem(0x00280010, "US", nums("H", 8)),
                          elem(0x00280011, "US", nums("H", 8)),
                          encapsulated(0x7FE00010, [0, 72], frames)]
    whole = p10(JPEG_BASELINE, dataset(*els), name=name)
    second = only(whole, delim(ITEM, ELE, 64) + frames[1])
    at = second + 8 + 20
    return _damaged("truncated_in_fragments",
                    "Encapsulated JPEG pixel data cut 20 bytes into its second fragment",
                    whole[:at], "truncated-in-fragments", at, "runs past the end of the input",
                    error_offset=second)


@fixture
def damaged_length_past_end() -> Fixture:
    name = "damaged_length_past_end"
    pixels = fake_bytes(name, 32)
    els = common(name) + [elem(0x00280010, "US", nums("H", 4)),
                          elem(0x00280011, "US", nums("H", 4))]
    head = p10(EXPLICIT_LE, dataset(*els), name=name)
    data = head + header(0x7FE00010, "OW", 4096) + pixels
    return _damaged("length_past_end",
                    "PixelData declares 4096 bytes; 32 follow", data, "length-past-end",
                    len(head), "value of length 4096 needs 4064 more bytes")


@fixture
def damaged_garbage_in_data_set() -> Fixture:
    name = "damaged_garbage_in_data_set"
    junk = bytes([0xA5, 0x5A]) * 8   # tag (5AA5,5AA5), VR bytes b"\xa5Z": not a VR
    els = common(name)
    head = p10(EXPLICIT_LE, dataset(*els[:3]), name=name)
    rest = dataset(*els[3:])
    data = head + junk + rest
    return _damaged(
        "garbage_in_data_set",
        "16 bytes of garbage between Modality and PatientName: a salvage read keeps "
        "them as raw bytes and reads PatientName and PatientID after them (they used "
        "to be trailing bytes with every element after them)", data, "garbage-in-data-set",
        len(head), "bytes that do not form an element, and elements after them")


def _lying_group_length(name: str, delta: int) -> Tuple[bytes, int]:
    good = meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))
    true = struct.unpack_from("<L", good, 8)[0]
    lie = good[:8] + struct.pack("<L", true + delta) + good[12:]
    return ZERO_PREAMBLE + b"DICM" + lie + dataset(*common(name)), true + delta


@fixture
def damaged_meta_length_too_long() -> Fixture:
    name = "damaged_meta_length_too_long"
    data, lie = _lying_group_length(name, 24)
    return _damaged(
        "meta_length_too_long",
        "FileMetaInformationGroupLength counts 24 bytes more than the meta group holds "
        "(it would end inside the data set); the meta group still ends at the first "
        "tag outside group 0002", data, "meta-length-lies", 140,
        "FileMetaInformationGroupLength is", error_offset=132)


@fixture
def damaged_meta_length_too_short() -> Fixture:
    name = "damaged_meta_length_too_short"
    data, lie = _lying_group_length(name, -30)
    return _damaged(
        "meta_length_too_short",
        "FileMetaInformationGroupLength counts 30 bytes fewer than the meta group "
        "holds (it would end inside ImplementationClassUID)", data, "meta-length-lies",
        140, "FileMetaInformationGroupLength is", error_offset=132)


@fixture
def damaged_meta_element_missing() -> Fixture:
    name = "damaged_meta_element_missing"
    good = meta(EXPLICIT_LE, SECONDARY_CAPTURE, uid_for(name))
    gone = elem(0x00020003, "UI", ui(uid_for(name)))[1]
    at = only(good, gone)
    data = ZERO_PREAMBLE + b"DICM" + good[:at] + good[at + len(gone):] \
        + dataset(*common(name))
    return _damaged(
        "meta_element_missing",
        "MediaStorageSOPInstanceUID (0002,0003) missing from the meta group, whose "
        "group length still counts it", data, "meta-element-missing", 132 + at,
        "FileMetaInformationGroupLength is", error_offset=132)


# -- output -----------------------------------------------------------------------
def build() -> Dict[str, bytes]:
    """{file name: bytes} of every fixture and the manifest."""
    files: Dict[str, bytes] = {}
    entries = []
    for builder in BUILDERS:
        fx = builder()
        assert fx.name not in files, fx.name
        limit = EXAMPLE_LIMIT if fx.name == "example_ct.dcm" else SMALL_LIMIT
        assert len(fx.data) < limit, (fx.name, len(fx.data))
        files[fx.name] = fx.data
        entry = {"file": fx.name, "description": fx.description, "valid": fx.valid,
                 "size": len(fx.data), "sha256": sha(fx.data)}
        if fx.valid:
            entry["expect"] = fx.expect or {}
        else:
            entry["error"] = fx.error
        if fx.damage is not None:
            entry["damage"] = fx.damage
        entries.append(entry)
    manifest = {
        "about": "Hand-built DICOM fixtures written by tools/make_fixtures.py; "
                 "valid files must round-trip byte for byte, broken files must raise "
                 "DicomParseError at error.offset with error.message in the text.",
        "fixtures": entries,
    }
    files[MANIFEST] = (to_json(manifest) + "\n").encode("ascii")
    return files


def to_json(value, depth: int = 0, pretty_depth: int = 5) -> str:
    """JSON with one line per expectation: containers are laid out over lines
    down to ``pretty_depth``, written compactly below it."""
    if depth >= pretty_depth or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(", ", ": "))
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        parts = [f"{pad}{json.dumps(k)}: {to_json(value[k], depth + 1, pretty_depth)}"
                 for k in value]          # insertion order: file, description, ...
        return "{\n" + ",\n".join(parts) + "\n" + "  " * depth + "}"
    parts = [pad + to_json(v, depth + 1, pretty_depth) for v in value]
    return "[\n" + ",\n".join(parts) + "\n" + "  " * depth + "]"


def check(out: Path, files: Dict[str, bytes]) -> List[str]:
    """Differences between ``out`` and what would be written."""
    problems = []
    for name, data in files.items():
        path = out / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif path.read_bytes() != data:
            problems.append(f"differs: {name}")
    if out.is_dir():
        for path in sorted(out.iterdir()):
            if path.name not in files:
                problems.append(f"not generated (stale): {path.name}")
    return problems


def write(out: Path, files: Dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = out / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the folder differs")
    parser.add_argument("--out", type=Path, default=FIXTURES, help="fixture folder")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        problems = check(args.out, files)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(f"{len(problems)} difference(s): run tools/make_fixtures.py", file=sys.stderr)
            return 1
        print(f"{len(files)} files up to date in {args.out}")
        return 0
    write(args.out, files)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
