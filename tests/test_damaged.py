"""Damaged files (issue 12): the hand-made damaged_*.dcm fixtures and the
regression tests of the silent differences and crashes that tools/fuzz.py
found.

Today's reader has no salvage mode, so each damaged fixture must be refused
with a DicomParseError that names the offset of the damage -- never a
traceback, and never accepted and rebuilt differently.
"""

from __future__ import annotations

import io
import struct

import pytest

from dicom2ion import Dicom2IonError, DicomParseError, convert, dump, load, to_dicom_bytes
from dicom2ion.p10.source import iter_events

from test_fixtures import ENTRIES, path_of, read

DAMAGED = sorted(name for name in ENTRIES if name.startswith("damaged_"))


def round_trip(path) -> str:
    """"refused", "exact" or "DIFFERENT": convert, binary Ion, load, to-dicom
    (the property tools/fuzz.py checks; any other exception propagates)."""
    try:
        doc = convert(path)
    except Dicom2IonError:
        return "refused"
    buffer = io.BytesIO()
    dump(doc, buffer, binary=True)
    try:
        rebuilt = to_dicom_bytes(load(buffer.getvalue()), source=str(path), check=False)
    except Dicom2IonError:
        return "DIFFERENT"
    with open(path, "rb") as fp:
        return "exact" if rebuilt == fp.read() else "DIFFERENT"


def refusal(data: bytes, **options) -> DicomParseError:
    """The error converting ``data`` raises, streamed whole and in 7-byte chunks
    (the two must agree)."""
    with pytest.raises(DicomParseError) as whole:
        convert(data, **options)
    chunks = (data[i:i + 7] for i in range(0, len(data), 7))
    with pytest.raises(DicomParseError) as streamed:
        for _ in iter_events(chunks):
            pass
    assert streamed.value.offset == whole.value.offset
    return whole.value


def test_every_damage_class_has_a_fixture():
    classes = {ENTRIES[name]["damage"]["class"] for name in DAMAGED}
    assert {"meta-sequence", "meta-element-in-data-set"} <= classes


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_fixture_names_its_damage(name):
    entry = ENTRIES[name]
    damage = entry["damage"]
    assert isinstance(damage["offset"], int) and 0 <= damage["offset"] <= entry["size"]
    assert damage["class"]
    error = refusal(read(name))
    assert error.offset == entry["error"]["offset"], str(error)
    assert entry["error"]["message"] in str(error)


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_fixture_is_never_silently_different(name):
    assert round_trip(path_of(name)) in ("refused", "exact")


# -- regressions: what tools/fuzz.py found ------------------------------------------------
def test_sequence_in_the_meta_group_is_refused_not_a_crash(tmp_path):
    """A meta element of undefined length used to leave its sequence open when
    the first item tag ended the meta group; the visitor then crashed with an
    AttributeError at End (fuzz seed 7, input 466)."""
    data = read("damaged_meta_sequence.dcm")
    error = refusal(data)
    assert error.offset == ENTRIES["damaged_meta_sequence.dcm"]["damage"]["offset"]
    assert error.path == (0x00020009,)
    assert "meta group cannot hold a sequence" in str(error)
    # the input ends right after the sequence header: this was the crash
    cut = error.offset + 12
    assert "meta group cannot hold a sequence" in str(refusal(data[:cut]))
    (tmp_path / "cut.dcm").write_bytes(data[:cut])
    assert round_trip(tmp_path / "cut.dcm") == "refused"
    # implicit VR: an undefined length in group 0002 is refused too
    head = data[:132] + bytes.fromhex("02000000 ffffffff") + bytes.fromhex("feff00e0 00000000")
    assert "meta group" in str(refusal(head))


@pytest.mark.parametrize("name, tag", [("damaged_meta_in_data_set.dcm", 0x00020013),
                                       ("damaged_meta_group_number.dcm", 0x00020001)])
def test_meta_element_in_the_data_set_is_refused(name, tag):
    """Group 0002 after the meta group ended used to be accepted and rebuilt
    inside the meta group (the document keeps no section boundary): the 1 %
    of mutants "accepted but different" at offsets 132-350 in issue 12."""
    error = refusal(read(name))
    assert error.path == (tag,)
    assert "file meta element in the data set" in str(error)
    assert round_trip(path_of(name)) == "refused"


def test_meta_elements_in_items_are_not_refused(tmp_path):
    """Only the top level of the data set is the meta group's business: the
    same stray element inside a sequence item converts and rebuilds exactly."""
    data = read("damaged_meta_in_data_set.dcm")
    at = ENTRIES["damaged_meta_in_data_set.dcm"]["damage"]["offset"]
    stray = data[at:at + 22]
    assert stray[:4] == b"\x02\x00\x13\x00"
    nested = (struct.pack("<HH2sHL", 0x0008, 0x1140, b"SQ", 0, 8 + len(stray))
              + struct.pack("<HHL", 0xFFFE, 0xE000, len(stray)) + stray)
    path = tmp_path / "nested.dcm"
    path.write_bytes(data[:at] + nested + data[at + 22:])
    assert round_trip(path) == "exact"
