"""Each wire rule, driven through all four of its users: the reader, the
writer, the listing and the Ion mapping (visitor and IonSource).

The files are made here with struct, not taken from the package, so that a
rule that drifts in one user shows up as a failure."""

from __future__ import annotations

import struct

import pytest

import dicom2ion
from dicom2ion.errors import WriteError
from dicom2ion.events import (
    UNDEFINED, DataSetStart, Element, End, FileMetaStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart,
)
from dicom2ion.listing import dump_lines
from dicom2ion.p10 import iter_events, write_events
from dicom2ion.p10 import wire

EXPLICIT_LE = b"1.2.840.10008.1.2.1\x00"
EXPLICIT_BE = b"1.2.840.10008.1.2.2\x00"
IMPLICIT_LE = b"1.2.840.10008.1.2\x00"


def explicit(tag: int, vr: bytes, value: bytes, little: bool = True, length=None) -> bytes:
    e = "<" if little else ">"
    length = len(value) if length is None else length
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"ZZ"):
        return struct.pack(e + "HH2sHL", tag >> 16, tag & 0xFFFF, vr, 0, length) + value
    return struct.pack(e + "HH2sH", tag >> 16, tag & 0xFFFF, vr, length) + value


def implicit(tag: int, value: bytes, little: bool = True, length=None) -> bytes:
    e = "<" if little else ">"
    length = len(value) if length is None else length
    return struct.pack(e + "HHL", tag >> 16, tag & 0xFFFF, length) + value


def p10(syntax: bytes, body: bytes) -> bytes:
    ts = explicit(0x00020010, b"UI", syntax)
    return bytes(128) + b"DICM" + explicit(0x00020000, b"UL", struct.pack("<L", len(ts))) \
        + ts + body


def round_trip(data: bytes, **options) -> dict:
    """All four users on one file: reader+writer give the bytes back, the
    Ion mapping gives them back, and the listing runs. Returns the document."""
    events = list(iter_events(data))
    assert write_events(events) == data
    doc = dicom2ion.convert(data, **options)
    inline = dicom2ion.convert(data, inline_all=True)
    assert dicom2ion.to_dicom_bytes(inline, source=None) == data
    return doc


def listing(data: bytes) -> str:
    return "\n".join(dump_lines(iter_events(data)))


# -- rule: a UN of undefined length holds implicit VR little endian items -------

def _be_file_with_un_sequence() -> bytes:
    rows = implicit(0x00280010, struct.pack("<H", 512))            # LE inside the UN
    item = implicit(wire.ITEM, b"", length=UNDEFINED) + rows + implicit(wire.ITEM_END, b"")
    un = (struct.pack(">HH2sHL", 0x0009, 0x1001, b"UN", 0, UNDEFINED) + item
          + implicit(wire.SEQUENCE_END, b""))
    body = (explicit(0x00080060, b"CS", b"CT", little=False)
            + explicit(0x00090010, b"LO", b"ACME", little=False) + un
            + explicit(0x00280011, b"US", struct.pack(">H", 256), little=False))
    return p10(EXPLICIT_BE, body)


def test_un_sequence_holds_implicit_little_endian_items():
    data = _be_file_with_un_sequence()
    events = list(iter_events(data))
    rows = [e for e in events if type(e) is Element and e.tag == 0x00280010]
    assert rows[0].vr == "US" and rows[0].value == b"\x00\x02"    # read as implicit LE
    doc = round_trip(data)
    item = doc["dataSet"]["00091001"][0]
    assert item["Rows"] == 512
    assert doc["dataSet"]["Columns"] == 256                        # big endian again after it
    text = listing(data)
    rows_line = [line for line in text.splitlines() if "Rows" in line][0]
    assert rows_line.rstrip().endswith("512"), rows_line           # was 2 (issue 11)
    assert wire.Context(True, False).inside("UN", UNDEFINED) == wire.IMPLICIT_LITTLE
    assert wire.Context(True, False).inside("UN", 10) == wire.Context(True, False)
    assert wire.Context(True, False).inside("SQ", UNDEFINED) == wire.Context(True, False)


def test_writer_encodes_un_sequence_items_as_implicit_little_endian():
    events = [e for e in iter_events(_be_file_with_un_sequence())]
    data = write_events(events)
    at = data.index(struct.pack(">HH2s", 0x0009, 0x1001, b"UN"))
    assert data[at + 12:at + 16] == b"\xfe\xff\x00\xe0"           # LE item tag
    assert struct.pack("<HHL", 0x0028, 0x0010, 2) in data


# -- rule: element header size per VR and syntax --------------------------------

@pytest.mark.parametrize("vr,size", [(b"US", 8), (b"OB", 12), (b"UT", 12), (b"ZZ", 12)])
def test_header_size_explicit(vr, size):
    value = bytes(range(40)) * 10                                   # 400 bytes: a bulk value
    body = explicit(0x00080060, b"CS", b"MR") + explicit(0x00091001 if vr != b"US" else 0x00280010,
                                                          vr, value[:2] if vr == b"US" else value)
    data = p10(EXPLICIT_LE, body)
    events = list(iter_events(data))
    element = events[-2]
    assert wire.header_size(True, element.vr, element.raw_vr) == size
    assert events[-1].offset == element.offset + size + element.length   # End after the value
    doc = round_trip(data)
    if vr != b"US":
        ref = doc["dataSet"]["00091001"]
        assert data[ref["dataOffset"]:ref["dataOffset"] + ref["length"]] == value
        assert f"{element.offset:>10}" in listing(data)


def test_header_size_implicit():
    value = bytes(300)
    data = p10(IMPLICIT_LE, implicit(0x00080060, b"MR") + implicit(0x00091001, value))
    events = list(iter_events(data))
    assert wire.header_size(False, "OB") == 8
    assert events[-1].offset == events[-2].offset + 8 + 300
    doc = round_trip(data)
    ref = doc["dataSet"]["00091001"]
    assert ref["dataOffset"] == events[-2].offset + 8


# -- rule: where Specific Character Set applies ------------------------------------

def _charset_file() -> bytes:
    latin = "Dürer^Ä".encode("latin-1")
    item_body = explicit(0x00100010, b"PN", latin + b" ")
    item = implicit(wire.ITEM, b"", length=len(item_body)) + item_body
    body = (explicit(0x00070010, b"LO", "Ä ".encode("latin-1"))     # below (0008,0005)
            + explicit(0x00080005, b"CS", b"ISO_IR 100")
            + explicit(0x00081140, b"SQ", item)
            + explicit(0x00100010, b"PN", latin + b" "))
    return p10(EXPLICIT_LE, body)


def test_charset_applies_above_its_tag_and_in_items():
    data = _charset_file()
    doc = round_trip(data)
    ds = doc["dataSet"]
    assert ds["PatientName"] == "Dürer^Ä"
    assert ds["ReferencedImageSequence"][0]["PatientName"] == "Dürer^Ä"   # inherited
    text = listing(data)
    assert text.count("'Dürer^Ä'") == 2
    scope = wire.CharsetScope(("inherited",))
    scope.current = ("own",)
    assert scope.for_tag(0x00070010) == ("inherited",)
    assert scope.for_tag(0x00100010) == ("own",)
    assert scope.item(0x00081140).for_tag(0x00100010) == ("own",)
    assert scope.item(0x00040001).current == ("inherited",)


def test_charset_below_its_tag_is_the_inherited_one():
    data = _charset_file()
    doc = dicom2ion.convert(data)
    # (0007,0010) comes before (0008,0005): decoded in the default repertoire,
    # whose Latin-1 bytes are kept raw, so the value round-trips
    value = doc["dataSet"]["00070010"]
    assert "Ä" in str(value)
    assert dicom2ion.to_dicom_bytes(doc, source=None) == data


# -- rule: item and delimiter tags; what an undefined length opens ----------------

def test_item_tags_are_not_elements():
    head = [Preamble(bytes(128)), DataSetStart(0, None, True, True)]
    with pytest.raises(WriteError, match="group FFFE"):
        write_events(head + [Element(wire.ITEM, "UN", 0, 0, b""), End(0)])
    assert wire.item_header(wire.ITEM, 8, True) == b"\xfe\xff\x00\xe0\x08\x00\x00\x00"
    assert wire.item_header(wire.SEQUENCE_END, 0, False) == b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"


@pytest.mark.parametrize("explicit_vr,vr,raw,opens", [
    (True, "SQ", None, "sequence"), (True, "UN", None, "sequence"),
    (True, "OB", None, "fragments"), (True, "UN", b"ZZ", "fragments"), (True, "US", None, None),
    (False, "SQ", None, "sequence"), (False, "OB", None, "fragments"),
    (False, "UN", None, "sequence"),
])
def test_undefined_length_opens(explicit_vr, vr, raw, opens):
    tag = 0x00091001
    assert wire.undefined_length_opens(tag, vr, raw, explicit_vr)[0] == opens
    if not explicit_vr or opens is None:
        return
    body = explicit(0x00080060, b"CS", b"MR")
    inner = (implicit(wire.ITEM, b"", length=UNDEFINED) + implicit(wire.ITEM_END, b"")
             if opens == "sequence" else implicit(wire.ITEM, b"") + implicit(wire.ITEM, b"ab"))
    vr_bytes = raw or vr.encode()
    body += struct.pack("<HH2sHL", 0x0009, 0x1001, vr_bytes, 0, UNDEFINED) + inner \
        + implicit(wire.SEQUENCE_END, b"")
    data = p10(EXPLICIT_LE, body)
    kinds = [type(e).__name__ for e in iter_events(data)]
    assert ("SequenceStart" if opens == "sequence" else "FragmentsStart") in kinds
    round_trip(data)
    assert ("Item" if opens == "sequence" else "Fragment") in listing(data)


def test_writer_refuses_what_an_undefined_length_would_not_open():
    head = [Preamble(bytes(128)), FileMetaStart(0, True, True),
            Element(0x00020010, "UI", 18, 0, b"1.2.840.10008.1.2\x00"),
            DataSetStart(0, "1.2.840.10008.1.2", False, True),
            Element(0x00080060, "CS", 2, 0, b"MR")]
    # in implicit VR an undefined length on Pixel Data opens encapsulated data
    with pytest.raises(WriteError, match="encapsulated"):
        write_events(head + [SequenceStart(0x7FE00010, "SQ", UNDEFINED, 0),
                             SequenceEnd(0, True), End(0)])
    ok = head + [SequenceStart(0x00081140, "SQ", UNDEFINED, 0), ItemStart(0, UNDEFINED),
                 ItemEnd(0, True), SequenceEnd(0, True), End(0)]
    data = write_events(ok)
    assert [type(e) for e in iter_events(data)][5:9] == [SequenceStart, ItemStart, ItemEnd,
                                                         SequenceEnd]


# -- rule: which encoding the first bytes say; which bytes are trailing ------------

def test_detection_is_shared_by_reader_and_writer():
    from dicom2ion.p10.syntax import Encoding
    head = explicit(0x00080060, b"CS", b"MR")
    assert wire.detect_encoding(head, None) == Encoding(True, True)
    assert wire.detect_encoding(implicit(0x00080060, b"MR"), None) == Encoding(False, True)
    # the writer refuses a data set that a reader would detect differently
    events = [Preamble(bytes(128)), DataSetStart(0, None, False, True),
              Element(0x00080060, "CS", 0x5343, 0, bytes(0x5343)), End(0)]   # length "CS"
    with pytest.raises(WriteError, match="read as explicit"):
        write_events(events)


def test_trailing_bytes_rule():
    body = explicit(0x00080060, b"CS", b"MR")
    data = p10(EXPLICIT_LE, body) + b"\x00\x00\x00\x00\x01\x02\x03\x04\x05"
    assert wire.can_be_trailing(data[-9:-1], True)
    events = list(iter_events(data))
    assert type(events[-2]).__name__ == "Trailing"
    round_trip(data)
    assert "trailing bytes: 9" in listing(data)
    assert not wire.can_be_trailing(explicit(0x00080070, b"LO", b"AB"), True)
    bad = events[:-2] + [events[-2]._replace(value=explicit(0x00080070, b"LO", b"AB")),
                         events[-1]]
    with pytest.raises(WriteError, match="read as an element"):
        write_events(bad)
