"""The project's own hand-built fixtures (fixtures/, written by
tools/make_fixtures.py from struct.pack, not by our writer or pydicom).

Valid fixtures must survive P10 -> Ion (dict, binary Ion, text Ion) -> P10
byte for byte, and the Ion must hold the values the generator packed (its
MANIFEST.json ``expect`` section, plus the explicit checks below). Broken
fixtures must raise DicomParseError at the expected offset, quickly.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import math
import struct
import subprocess
import sys
import time
import zlib

import pytest
from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyNull

from conftest import FIXTURES, ROOT
from dicom2ion import DicomParseError, convert, dump, load, to_dicom, to_dicom_bytes
from dicom2ion.dictionary import keyword_for
from dicom2ion.p10.source import iter_events
from dicom2ion.p10.writer import write_events

TOOL = ROOT / "tools" / "make_fixtures.py"
MANIFEST_PATH = FIXTURES / "MANIFEST.json"
MANIFEST = json.loads(MANIFEST_PATH.read_text()) if MANIFEST_PATH.is_file() else {"fixtures": []}
ENTRIES = {e["file"]: e for e in MANIFEST["fixtures"]}
VALID = [name for name, e in ENTRIES.items() if e["valid"]]
BROKEN = [name for name, e in ENTRIES.items() if not e["valid"]]

ION_FORMS = ("dict", "binary", "text")


def path_of(name: str):
    return FIXTURES / name


def read(name: str) -> bytes:
    return path_of(name).read_bytes()


def ion_form(doc, form: str):
    """The document itself, or after a trip through binary or text Ion."""
    if form == "dict":
        return doc
    buffer = io.BytesIO()
    dump(doc, buffer, binary=(form == "binary"))
    return load(buffer.getvalue())


def plain(value):
    """amazon.ion wrapper values -> plain Python values."""
    if value is None or isinstance(value, IonPyNull):
        return None
    if getattr(value, "ion_type", None) == IonType.BOOL:     # IonPyBool is an int
        return bool(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def expected(value):
    """A manifest value -> the Python value to compare with."""
    if isinstance(value, dict) and set(value) == {"blob"}:
        return bytes.fromhex(value["blob"])
    if isinstance(value, list):
        return [expected(v) for v in value]
    return value


def dig(root, path, where="dataSet"):
    """Follow field names and list indexes; fail with the path when absent."""
    value = root
    for step in path:
        if isinstance(step, int):
            assert isinstance(value, list) and step < len(value), f"{where}{path}: no item {step}"
        else:
            assert hasattr(value, "get") and step in value, f"{where}{path}: no field {step!r}"
        value = value[step]
    return value


def annotation(value):
    anns = getattr(value, "ion_annotations", ()) or ()
    return [getattr(a, "text", a) for a in anns]


def docs(name: str):
    """The converted document and its binary and text Ion reloads."""
    doc = convert(path_of(name))
    return {form: ion_form(doc, form) for form in ION_FORMS}


def test_manifest_lists_every_fixture_with_its_digest():
    assert ENTRIES, f"no fixtures listed in {MANIFEST_PATH}: run tools/make_fixtures.py"
    on_disk = {p.name for p in FIXTURES.iterdir()} - {"MANIFEST.json"}
    assert on_disk == set(ENTRIES)
    for name, entry in ENTRIES.items():
        data = read(name)
        assert len(data) == entry["size"], name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert entry["description"].strip(), name
        limit = 8192 if name == "example_ct.dcm" else 4096
        assert len(data) < limit, name
        if not entry["valid"]:
            assert isinstance(entry["error"]["offset"], int) and entry["error"]["message"]


def test_generator_is_independent_of_the_package():
    tree = ast.parse(TOOL.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported, "no imports found: the check is not looking at the right file"
    assert not imported & {"dicom2ion", "pydicom"}, imported


def test_generator_check_passes():
    result = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_generator_is_deterministic_and_check_catches_changes(tmp_path):
    out = tmp_path / "fx"
    for _ in range(2):
        subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True,
                       capture_output=True, timeout=120)
        for entry in ENTRIES.values():
            assert (out / entry["file"]).read_bytes() == read(entry["file"]), entry["file"]
        assert (out / "MANIFEST.json").read_bytes() == MANIFEST_PATH.read_bytes()

    def check():
        return subprocess.run([sys.executable, str(TOOL), "--check", "--out", str(out)],
                              capture_output=True, text=True, timeout=120)

    assert check().returncode == 0
    victim = out / "example_ct.dcm"
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    result = check()
    assert result.returncode == 1 and "example_ct.dcm" in result.stderr
    victim.write_bytes(original)
    (out / "stray.dcm").write_bytes(b"x")
    result = check()
    assert result.returncode == 1 and "stray.dcm" in result.stderr
    (out / "stray.dcm").unlink()
    (out / "empty.dcm").unlink()
    result = check()
    assert result.returncode == 1 and "empty.dcm" in result.stderr


# -- valid fixtures: byte-for-byte round trips ---------------------------------------------
@pytest.mark.parametrize("form", ION_FORMS)
@pytest.mark.parametrize("name", VALID)
def test_round_trip_through_ion(name, form):
    data = read(name)
    doc = ion_form(convert(path_of(name)), form)
    assert str(doc["fileInfo"]["sha256"]) == hashlib.sha256(data).hexdigest()
    assert int(doc["fileInfo"]["size"]) == len(data)
    out = io.BytesIO()
    report = to_dicom(doc, out, check=False)
    assert out.getvalue() == data
    assert report["identical"] is True and report["size"] == len(data)
    assert to_dicom_bytes(doc) == data


@pytest.mark.parametrize("name", VALID)
def test_events_round_trip_and_do_not_depend_on_chunking(name):
    data = read(name)
    events = list(iter_events(path_of(name)))
    assert write_events(events) == data
    for size in (1, 7, 64):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        assert list(iter_events(chunks)) == events, f"chunks of {size}"


@pytest.mark.parametrize("name", VALID)
def test_events_re_read_from_rebuilt_bytes_are_equal(name):
    events = list(iter_events(path_of(name)))
    rebuilt = to_dicom_bytes(ion_form(convert(path_of(name)), "binary"), check=False)
    assert list(iter_events(rebuilt)) == events


# -- valid fixtures: what the Ion holds (from MANIFEST expect) ------------------------------
@pytest.mark.parametrize("name", VALID)
def test_ion_holds_the_packed_values(name):
    expect = ENTRIES[name]["expect"]
    for form, doc in docs(name).items():
        ds = doc["dataSet"]
        wire = doc.get("wire") or {}
        where = f"{name} ({form})"
        for path, value in expect.get("values", []):
            assert plain(dig(ds, path)) == expected(value), f"{where} dataSet{path}"
        for path, vr in expect.get("annotations", []):
            assert annotation(dig(ds, path)) == [vr], f"{where} dataSet{path}"
        for path, count in expect.get("lengths", []):
            assert len(dig(ds, path)) == count, f"{where} dataSet{path}"
        for path, value in expect.get("wire", []):
            assert plain(dig(wire, path, "wire")) == expected(value), f"{where} wire{path}"
        for path in expect.get("absent", []):
            assert path[-1] not in dig(ds, path[:-1]), f"{where} dataSet{path} should be absent"
        for key in expect.get("absent_wire", []):
            assert key not in wire, f"{where} wire.{key} should be absent"
        for key, value in expect.get("fileInfo", []):
            assert plain(doc["fileInfo"][key]) == value, f"{where} fileInfo.{key}"
        for key in expect.get("fileInfo_absent", []):
            assert key not in doc["fileInfo"], f"{where} fileInfo.{key} should be absent"
        for path, records in expect.get("fragments", []):
            frags = plain(dig(ds, path + ["fragments"]))
            assert [[f["position"], f["length"], f["sha256"]] for f in frags] == records, where
            first = records[0][0] - 8
            assert [f["offset"] for f in frags] == [r[0] - 8 - first for r in records], where
        for keyword, code, raw in expect.get("floats", []):
            want = struct.unpack("<" + code, bytes.fromhex(raw))[0]
            got = plain(ds[keyword])
            if math.isnan(want):        # Ion has one NaN: the payload lives in wire facts
                assert isinstance(got, float) and math.isnan(got), f"{where} {keyword}"
            else:
                assert struct.pack("<d", got) == struct.pack("<d", want), f"{where} {keyword}"
        for keyword, values in expect.get("repeated", []):
            assert hasattr(ds, "get_all_values"), f"{where}: dataSet is not a multi-map"
            assert [plain(v) for v in ds.get_all_values(keyword)] == values, where
        for key, value, raw in expect.get("wire_restores", []):
            facts = plain(dig(wire, ["elements", key], "wire"))
            assert "pad" in facts or "raw" in facts, f"{where} wire.elements[{key}] {facts}"
            text = plain(dig(ds, [_field_of(ds, key)]))
            assert text == value
            rebuilt = facts["raw"] if "raw" in facts else text.encode("ascii") + facts["pad"].encode("ascii")
            assert rebuilt == bytes.fromhex(raw), f"{where} {key}"


def _field_of(ds, hex_tag):
    """dataSet field name of a tag (keyword or 8 hex digits)."""
    return keyword_for(int(hex_tag, 16)) or hex_tag


# -- valid fixtures: explicit checks of the hard cases --------------------------------------
def test_example_ct_pixel_data_is_a_bulk_reference_to_the_file_bytes():
    data = read("example_ct.dcm")
    for form, doc in docs("example_ct.dcm").items():
        ref = plain(doc["dataSet"]["PixelData"])
        assert set(ref) >= {"dataOffset", "length", "sha256"}, form
        value = data[ref["dataOffset"]:ref["dataOffset"] + ref["length"]]
        assert ref["length"] == 512 == 16 * 16 * 2
        assert hashlib.sha256(value).hexdigest() == ref["sha256"]
        assert data[ref["dataOffset"] - 12:ref["dataOffset"]] == \
            b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<L", 512)
        pixels = struct.unpack("<256h", value)
        assert pixels[0] == -1024 and pixels[1] == -1011 and pixels[255] == (255 * 13) % 2048 - 1024
        assert doc["dataSet"]["PatientName"] == "Doe^Jane"
        assert annotation(doc["dataSet"]["ImageType"]) == []


def test_un_of_undefined_length_is_a_list_annotated_un():
    for form, doc in docs("un_undefined_sequence.dcm").items():
        ds = doc["dataSet"]
        seq = ds["ReferencedImageSequence"]
        assert isinstance(seq, list) and annotation(seq) == ["UN"], form
        assert len(seq) == 2
        assert all(item["ReferencedSOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2" for item in seq)
        nested = seq[1]["DerivationCodeSequence"]
        assert isinstance(nested, list) and nested[0]["CodeValue"] == "121327"
        assert isinstance(ds["00091000"], list) and annotation(ds["00091000"]) == ["UN"]
        assert ds["BodyPartExamined"] == "HEAD"


@pytest.mark.parametrize("name", ["private_sq_implicit_defined.dcm",
                                  "private_sq_implicit_undefined.dcm"])
def test_private_sequence_in_implicit_vr_is_a_list(name):
    for form, doc in docs(name).items():
        seq = doc["dataSet"]["00091010"]
        assert isinstance(seq, list), f"{form}: {seq!r}"
        assert [item["CodeValue"] for item in seq] == ["T-1", "T-22"]
        assert seq[1]["CodeMeaning"] == "second code"


def test_invalid_vr_keeps_the_vr_bytes():
    for form, doc in docs("invalid_vr.dcm").items():
        elements = doc["wire"]["elements"]
        assert plain(elements["00091010"]["vr"]) == b"XX"
        assert plain(elements["00181030"]["vr"]) == b"ZZ"
        assert plain(doc["dataSet"]["00091010"]) == bytes(range(1, 7))
        assert doc["dataSet"]["SpatialResolution"] == "0.5"


def test_odd_length_and_padded_strings():
    for form, doc in docs("odd_lengths_and_padding.dcm").items():
        ds, elements = doc["dataSet"], doc["wire"]["elements"]
        assert ds["Manufacturer"] == "ABC"
        facts = plain(elements["00080070"])        # 3 bytes on the wire, no pad
        assert facts.get("pad") == "" or facts.get("raw") == b"ABC", facts
        assert ds["InstitutionName"] == "HOSP"
        facts = plain(elements["00080080"])        # NUL padded
        assert facts.get("pad") == "\0\0" or facts.get("raw") == b"HOSP\0\0", facts
        assert ds["StudyDescription"] == "HEAD"
        assert plain(ds["EncapsulatedDocument"]) == b"%PDF-"
        for keyword in ("StudyDate", "StudyTime", "ReferringPhysicianName", "EventTimeOffset",
                        "FrameIncrementPointer", "Rows", "TextValue"):
            assert plain(ds[keyword]) is None, keyword
        assert plain(ds["ReferencedStudySequence"]) == []


def test_group_lengths_hold_their_group_sizes():
    data = read("group_lengths.dcm")
    for form, doc in docs("group_lengths.dcm").items():
        ds = doc["dataSet"]
        for group in (0x0008, 0x0009, 0x0010, 0x0020, 0x0028):
            # find the (gggg,0000) element in the file and check its value is the size
            # of the rest of its group (every group here is explicit VR LE)
            head = struct.pack("<HH2sH", group, 0, b"UL", 4)
            at_ = data.index(head)
            value = struct.unpack_from("<L", data, at_ + 8)[0]
            end = at_ + 12
            while end < len(data) and struct.unpack_from("<H", data, end)[0] == group:
                vr = data[end + 4:end + 6]
                if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
                    end += 12 + struct.unpack_from("<L", data, end + 8)[0]
                else:
                    end += 8 + struct.unpack_from("<H", data, end + 6)[0]
            assert value == end - at_ - 12
            assert plain(ds["%04X0000" % group]) == value, (form, group)


def test_out_of_order_elements_record_their_order():
    for form, doc in docs("out_of_order.dcm").items():
        order = plain(doc["wire"]["order"])
        assert order[""][-7:] == ["00080060", "00080020", "00100020", "00100010", "00100020",
                                  "00080070", "00081110"]
        assert order["00081110/0"] == ["00081155", "00081150"]


def test_repeated_tag_keeps_both_values():
    for form, doc in docs("out_of_order.dcm").items():
        ds = doc["dataSet"]
        values = ds.get_all_values("PatientID") if hasattr(ds, "get_all_values") \
            else [ds["PatientID"]]
        assert [str(v) for v in values] == ["ID-A", "ID-B"], form


def test_multi_valued_at_keeps_all_three_values():
    for form, doc in docs("numbers_edge.dcm").items():
        assert doc["dataSet"]["FrameIncrementPointer"] == "00181063\\00181065\\00209153", form


def test_sv_uv_beyond_2_53_and_negative_zero():
    for form, doc in docs("numbers_edge.dcm").items():
        ds = doc["dataSet"]
        assert plain(ds["SelectorSVValue"]) == 2 ** 53 + 1, form
        assert plain(ds["FileOffsetInContainer"]) == 2 ** 64 - 3, form
        assert plain(ds["SelectorUVValue"]) == struct.pack("<2Q", 2 ** 63, 2 ** 53 + 1)
        zero = plain(ds["EventTimeOffset"])
        assert zero == 0.0 and math.copysign(1.0, zero) == -1.0, form


@pytest.mark.parametrize("form", ["dict", "binary"])
def test_nan_payloads_survive_binary_ion(form):
    doc = docs("numbers_edge.dcm")[form]
    ds = doc["dataSet"]
    for keyword in ("ExaminedBodyThickness", "B1rms", "ContrastBolusInjectionDelay"):
        assert math.isnan(plain(ds[keyword])), keyword
    assert to_dicom_bytes(doc) == read("numbers_edge.dcm")


def test_nan_payloads_survive_text_ion():
    data = read("numbers_edge.dcm")
    doc = docs("numbers_edge.dcm")["text"]
    rebuilt = to_dicom_bytes(doc, check=False)
    for bits in (struct.pack("<L", 0x7FC12345), struct.pack("<Q", 0x7FF80000DEADBEEF),
                 struct.pack("<L", 0x7F800001)):
        assert bits in data
        assert bits in rebuilt, bits.hex()


def test_signaling_nan_records_raw_bytes():
    for form, doc in docs("numbers_edge.dcm").items():
        assert plain(doc["wire"]["elements"]["00181320"]["raw"]) == struct.pack("<L", 0x7F800001)


def test_character_sets_decode():
    cases = {
        "charset_latin1.dcm": ("Müller^Jürgen", "Hôpital Saint-Éloi"),
        "charset_utf8.dcm": ("Wang^XiaoDong=王^小東=", "Klinik Zürich – Ωmega"),
        "charset_jis.dcm": ("Yamada^Tarou=山田^太郎=やまだ^たろう", None),
    }
    for name, (patient, institution) in cases.items():
        for form, doc in docs(name).items():
            ds = doc["dataSet"]
            assert ds["PatientName"] == patient, (name, form)
            if institution is not None:
                assert ds["InstitutionName"] == institution, (name, form)
            assert "elements" not in (doc.get("wire") or {}), (name, form)


def test_japanese_pn_escape_sequences_are_on_the_wire():
    data = read("charset_jis.dcm")
    assert b"\x1b$B;3ED\x1b(B" in data            # 山田 in JIS X 0208, PS3.5 H.3.1
    assert docs("charset_jis.dcm")["text"]["dataSet"]["PatientName"].split("=")[1] == "山田^太郎"


def test_invalid_utf8_keeps_the_raw_bytes():
    raw = b"Caf\xe9^Ren\xe9 "         # 9 bytes of Latin-1 mislabelled as UTF-8, space padded
    for form, doc in docs("charset_invalid_utf8.dcm").items():
        assert plain(doc["wire"]["elements"]["00100010"]["raw"]) == raw, form
        assert isinstance(plain(doc["dataSet"]["PatientName"]), str)


@pytest.mark.parametrize("name,tail", [("trailing_short.dcm", b"\x0d\x0a\x1a\x00\x7f"),
                                       ("trailing_garbage.dcm",
                                        b"\x8a\x3c\x00\x11\x07\x93\xde\xad\xbe\xef\x00\x01")])
def test_trailing_bytes_are_kept_in_wire(name, tail):
    assert read(name).endswith(tail)
    for form, doc in docs(name).items():
        assert plain(doc["wire"]["trailing"]) == tail, form


def test_trailing_padding_element_is_an_element_not_trailing_bytes():
    for form, doc in docs("trailing_padding.dcm").items():
        assert plain(doc["dataSet"]["DataSetTrailingPadding"]) == bytes(16)
        assert "trailing" not in (doc.get("wire") or {})


def test_non_zero_preamble_is_kept():
    data = read("tiff_preamble.dcm")
    assert data[:4] == b"II*\x00" and data[128:132] == b"DICM"
    for form, doc in docs("tiff_preamble.dcm").items():
        assert plain(doc["wire"]["preamble"]) == data[:128], form


@pytest.mark.parametrize("name", ["no_preamble_meta.dcm", "no_preamble_no_meta.dcm"])
def test_missing_preamble_is_null(name):
    for form, doc in docs(name).items():
        assert "preamble" in doc["wire"] and plain(doc["wire"]["preamble"]) is None, form


def test_zero_preamble_is_not_recorded():
    for form, doc in docs("example_ct.dcm").items():
        assert "preamble" not in (doc.get("wire") or {})


def test_data_set_not_in_the_declared_syntax():
    for form, doc in docs("wrong_syntax.dcm").items():
        assert doc["wire"]["encoding"] == "implicit-le"
        assert doc["fileInfo"]["transferSyntaxUID"] == "1.2.840.10008.1.2.1"
        assert doc["dataSet"]["Rows"] == 16 and doc["dataSet"]["Columns"] == 8


def test_big_endian_numbers_are_the_packed_numbers():
    for form, doc in docs("explicit_be.dcm").items():
        ds = doc["dataSet"]
        assert ds["Rows"] == 2 and ds["Columns"] == 4, form
        assert plain(ds["SmallestImagePixelValue"]) == 0x1234
        assert annotation(ds["SmallestImagePixelValue"]) == ["US"]
        assert ds["TagAngleSecondAxis"] == -2
        assert ds["B1rms"] == 1.5
        assert plain(ds["AcquisitionMatrix"]) == struct.pack("<4H", 0x0100, 0x0002, 0x0300, 0x0004)
        assert plain(ds["VerticesOfTheRegion"]) == struct.pack("<4h", -5, 300, -32768, 32767)
        assert plain(ds["DiffusionGradientOrientation"]) == struct.pack("<3d", 0.5, -0.25, 1e300)
        assert ds["FrameIncrementPointer"] == "00181063\\00181065"
        assert plain(ds["PixelData"]) == struct.pack(
            "<8H", 0x0001, 0x0203, 0x0405, 0x0607, 0x0809, 0x0A0B, 0x0C0D, 0xFEDC)
    # and the file really is big endian there
    data = read("explicit_be.dcm")
    assert struct.pack(">HH2sHH", 0x0028, 0x0106, b"US", 2, 0x1234) in data


def test_icon_image_holds_its_own_encapsulated_pixel_data():
    data = read("jpeg_icon_nested.dcm")
    for form, doc in docs("jpeg_icon_nested.dcm").items():
        ds = doc["dataSet"]
        icon = plain(ds["IconImageSequence"][0]["PixelData"])
        assert icon["encapsulatedPixelData"] is True, form
        assert icon["basicOffsetTable"] == [] and len(icon["fragments"]) == 1
        frag = icon["fragments"][0]
        payload = data[frag["position"]:frag["position"] + frag["length"]]
        assert payload.startswith(b"\xff\xd8") and payload.endswith(b"\xff\xd9")
        assert hashlib.sha256(payload).hexdigest() == frag["sha256"]
        top = plain(ds["PixelData"])
        assert top["encapsulatedPixelData"] is True
        assert len(top["fragments"]) == 3
        assert top["frames"] == [[0, 2], [2, 1]]
        assert top["basicOffsetTable"][0] == 0
        assert top["basicOffsetTable"][1] == top["fragments"][2]["offset"]
        assert top["dataOffset"] > icon["dataOffset"] + icon["length"]


def test_empty_offset_table_one_fragment_per_frame():
    for form, doc in docs("encaps_empty_bot.dcm").items():
        pixel = plain(doc["dataSet"]["PixelData"])
        assert pixel["basicOffsetTable"] == [] and len(pixel["fragments"]) == 3, form
        assert pixel["frames"] == [[0, 1], [1, 1], [2, 1]]


@pytest.mark.parametrize("name", ["deflated_l6.dcm", "deflated_l1.dcm"])
def test_deflate_level_reproduces_the_compressed_bytes(name):
    data = read(name)
    for form, doc in docs(name).items():
        deflate = plain(doc["wire"]["deflate"])
        raw = data[deflate["dataOffset"]:deflate["dataOffset"] + deflate["length"]]
        assert deflate["dataOffset"] + deflate["length"] == len(data)
        inflated = zlib.decompress(raw, -15)
        assert hashlib.sha256(inflated).hexdigest() == ENTRIES[name]["expect"]["inflated_sha256"]
        assert "level" in deflate, form
        comp = zlib.compressobj(deflate["level"], zlib.DEFLATED, -15)
        assert comp.compress(inflated) + comp.flush() == raw, form
        assert doc["fileInfo"]["encoding"] == "deflated-explicit-le"


def test_deflated_level_1_is_told_apart():
    doc = convert(path_of("deflated_l1.dcm"))
    assert doc["wire"]["deflate"]["level"] not in (6, 9)   # the generator checks they differ


# -- broken fixtures -----------------------------------------------------------------------
@pytest.mark.parametrize("name", BROKEN)
def test_broken_fixture_raises_at_the_expected_offset(name):
    error = ENTRIES[name]["error"]
    for source in (path_of(name), read(name)):
        start = time.perf_counter()
        with pytest.raises(DicomParseError) as info:
            convert(source, strict=True)
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0, f"{name}: took {elapsed:.2f}s to fail"
        assert info.value.offset == error["offset"], str(info.value)
        assert error["message"] in str(info.value)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_fixture_raises_when_streamed(name):
    data = read(name)
    chunks = (data[i:i + 100] for i in range(0, len(data), 100))
    with pytest.raises(DicomParseError):
        for _ in iter_events(chunks):
            pass


def test_depth_limit_is_configurable():
    """deep_nesting.dcm stops at the depth limit, not at its truncated end."""
    with pytest.raises(DicomParseError) as info:
        convert(path_of("deep_nesting.dcm"), max_depth=10, strict=True)
    assert "nesting deeper" in str(info.value)
    assert info.value.offset < ENTRIES["deep_nesting.dcm"]["error"]["offset"]
    with pytest.raises(DicomParseError) as info:
        convert(path_of("deep_nesting.dcm"), max_depth=1000, strict=True)
    assert "nesting deeper" not in str(info.value)
