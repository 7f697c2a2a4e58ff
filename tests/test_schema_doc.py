"""SCHEMA.md stays true to the code.

* the ``wire`` keys the document lists (section 5 tables) are exactly the keys the
  visitor writes (read from its source with ``ast``), scope by scope, and the writer side
  (``ion/source.py``, ``ion/values.py``, ``convert.py``) reads each of them;
* the document states the schema version that ``dicom2ion.ion.document`` writes;
* every Ion example is an excerpt of the real output for the corpus file it names, and
  the offsets and digests that the document defines hold for those files;
* behaviours the document promises (self-contained --inline-all documents, deflate
  streams in the bulk folder, canonical meta groups) hold.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import importlib
import io
import re
import struct
import zlib
from pathlib import Path

import pytest

import dicom2ion
from dicom2ion.ion import document as document_mod
from dicom2ion.ion import source as source_mod
from dicom2ion.ion import values as values_mod
from dicom2ion.ion import visitor as visitor_mod

from conftest import CORPUS, ROOT

# dicom2ion.convert is also the name of a function the package exports
convert_mod = importlib.import_module("dicom2ion.convert")

SCHEMA = ROOT / "SCHEMA.md"
TEXT = SCHEMA.read_text(encoding="utf-8")

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus absent: {CORPUS}")

# -- the document's wire tables ---------------------------------------------------------

_SCOPES = ("wire", "wire.deflate", "wire.elements", "wire.items")
_ROW = re.compile(r"^\|\s*`([A-Za-z][A-Za-z0-9]*)`\s*\|\s*`(wire(?:\.[a-z]+)?)`\s*\|")


def _section(text: str, number: str) -> str:
    """The text of the top-level section '## <number>. ...' up to the next '## '."""
    start = re.search(rf"^## {re.escape(number)}\. .*$", text, re.M)
    assert start, f"SCHEMA.md has no section '## {number}.'"
    end = re.search(r"^## ", text[start.end():], re.M)
    return text[start.end(): start.end() + end.start()] if end else text[start.end():]


def doc_wire_keys() -> dict:
    keys = {scope: set() for scope in _SCOPES}
    for line in _section(TEXT, "5").splitlines():
        m = _ROW.match(line)
        if m:
            key, scope = m.groups()
            assert scope in keys, f"SCHEMA.md wire table: unknown scope {scope!r} in {line!r}"
            assert key not in keys[scope], f"SCHEMA.md lists {scope}.{key} twice"
            keys[scope].add(key)
    return keys


# -- the keys the code writes -----------------------------------------------------------

def _dotted(node) -> str:
    """'self.wire' for self.wire, 'wire' for wire, '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


class _Strings:
    """Which string constants a name or attribute can hold (through simple assignments
    and conditional expressions), so ``self.wire[field] = ...`` resolves."""

    def __init__(self, tree):
        self.bound = collections.defaultdict(list)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    name = _dotted(target)
                    if name:
                        self.bound[name].append(node.value)

    def of(self, node, seen=frozenset()) -> set:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.of(node.body, seen) | self.of(node.orelse, seen)
        name = _dotted(node)
        if name and name not in seen:
            out = set()
            for value in self.bound.get(name, ()):
                out |= self.of(value, seen | {name})
            return out
        return set()


def code_wire_keys() -> dict:
    keys = {scope: set() for scope in _SCOPES}
    tree = ast.parse(Path(visitor_mod.__file__).read_text(encoding="utf-8"))
    strings = _Strings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            base = node.value
            name = _dotted(base)
            if name in ("self.wire", "wire"):
                keys["wire"] |= strings.of(node.slice)
            elif name == "deflate":
                keys["wire.deflate"] |= strings.of(node.slice)
            elif (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
                  and base.func.attr == "setdefault"):
                owner = _dotted(base.func.value)
                if owner == "self._items":
                    keys["wire.items"] |= strings.of(node.slice)
                elif owner == "self._elements":
                    keys["wire.elements"] |= strings.of(node.slice)
        elif (isinstance(node, ast.Call) and _dotted(node.func) == "self._fact"
              and len(node.args) >= 2):
            keys["wire.elements"] |= strings.of(node.args[1])
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) \
                and any(_dotted(t) == "deflate" for t in node.targets):
            keys["wire.deflate"] |= {k.value for k in node.value.keys
                                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    # the facts values.decode returns ({"pad": ...}, {"raw": ...}) become element facts
    vtree = ast.parse(Path(values_mod.__file__).read_text(encoding="utf-8"))
    for func in ast.walk(vtree):
        if isinstance(func, ast.FunctionDef) and func.name in ("decode", "_text_value"):
            for node in ast.walk(func):
                if isinstance(node, ast.Dict):
                    keys["wire.elements"] |= {k.value for k in node.keys
                                              if isinstance(k, ast.Constant)
                                              and isinstance(k.value, str)}
    return keys


def _string_constants(*modules) -> set:
    out = set()
    for module in modules:
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.add(node.value)
    return out


def test_wire_table_is_found():
    keys = doc_wire_keys()
    for scope in _SCOPES:
        assert keys[scope], f"SCHEMA.md section 5 lists no keys for {scope}"


def test_code_keys_are_found():
    keys = code_wire_keys()
    for scope in _SCOPES:
        assert keys[scope], f"no {scope} keys found in the visitor source: the extraction broke"


@pytest.mark.parametrize("scope", _SCOPES)
def test_wire_keys_match_visitor(scope):
    documented = doc_wire_keys()[scope]
    written = code_wire_keys()[scope]
    assert not written - documented, (
        f"the visitor writes {scope} keys that SCHEMA.md does not document: "
        f"{sorted(written - documented)}")
    assert not documented - written, (
        f"SCHEMA.md documents {scope} keys that the visitor never writes: "
        f"{sorted(documented - written)}")


def test_documented_wire_keys_are_read_back():
    readers = _string_constants(source_mod, values_mod, convert_mod)
    missing = sorted(f"{scope}.{key}" for scope, keys in doc_wire_keys().items()
                     for key in keys if key not in readers)
    assert not missing, f"wire keys that the writer side never reads: {missing}"


def test_schema_version_matches_code():
    version = document_mod.SCHEMA_VERSION
    title = TEXT.splitlines()[0]
    assert f'schemaVersion "{version}"' in title, (title, version)
    stated = set(re.findall(r'schemaVersion[":\s]+"(\d+\.\d+)"', TEXT))
    stated |= set(re.findall(r'This document specifies `"(\d+\.\d+)"`', TEXT))
    assert stated == {version}, f"SCHEMA.md states versions {stated}, the code writes {version}"
    doc = dicom2ion.convert(_tiny_file(), source_info={})
    assert doc["schemaVersion"] == version


# -- the examples -------------------------------------------------------------------

_BLOCK = re.compile(r"^```ion\n(.*?)^```", re.M | re.S)
_VOLATILE = re.compile(r"^(createdAt|modificationDate|creationDate|uri):")
_CORPUS_NAME = re.compile(r"`((?:pydicom|dagcom)/[^`\s]+)`")


def _blocks():
    out = []
    for m in _BLOCK.finditer(TEXT):
        lines = m.group(1).splitlines()
        line_no = TEXT.count("\n", 0, m.start()) + 1
        out.append((line_no, lines))
    return out


def test_every_example_names_its_corpus_file():
    blocks = _blocks()
    assert len(blocks) >= 20
    for line_no, lines in blocks:
        assert lines and re.match(r"^// (pydicom|dagcom)/\S+$", lines[0]), (
            f"SCHEMA.md line {line_no}: an Ion example must start with '// <corpus file>'")


def _normal(line: str) -> str:
    return line.strip().rstrip(",")


_PRETTY: dict = {}


def _pretty(name: str) -> list:
    if name not in _PRETTY:
        doc = dicom2ion.convert(CORPUS / name)
        buffer = io.BytesIO()
        dicom2ion.dump(doc, buffer, binary=False, pretty=True)
        _PRETTY[name] = [_normal(line) for line in buffer.getvalue().decode("utf-8").splitlines()]
    return _PRETTY[name]


@needs_corpus
@pytest.mark.parametrize("line_no,lines", [pytest.param(n, lines, id=f"SCHEMA.md:{n}")
                                           for n, lines in _blocks()])
def test_example_is_real_output(line_no, lines):
    name = lines[0][3:].strip()
    assert (CORPUS / name).is_file(), f"SCHEMA.md line {line_no}: no corpus file {name}"
    output = _pretty(name)
    at = 0
    for offset, line in enumerate(lines[1:], start=1):
        text = _normal(line)
        if not text or text == "..." or text.startswith("//") or _VOLATILE.match(text):
            continue
        try:
            at = output.index(text, at) + 1
        except ValueError:
            pytest.fail(f"SCHEMA.md line {line_no + offset}: {text!r} is not in the output "
                        f"for {name} (in this order)")


@needs_corpus
def test_named_corpus_files_exist():
    names = set(_CORPUS_NAME.findall(TEXT))
    assert names
    missing = sorted(n for n in names if not (CORPUS / n).is_file())
    assert not missing, f"SCHEMA.md names corpus files that do not exist: {missing}"


# -- what the document says offsets and digests mean ---------------------------------

def _stream(data: bytes, doc) -> bytes:
    """The bytes offsets count: the file, with a deflated data set inflated in place."""
    deflate = (doc.get("wire") or {}).get("deflate")
    if not deflate:
        return data
    start = deflate["dataOffset"]
    raw = data[start:start + deflate["length"]]
    assert hashlib.sha256(raw).hexdigest() == deflate["sha256"]
    return data[:start] + zlib.decompressobj(-15).decompress(raw)


def _walk(value):
    if isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif hasattr(value, "items") and not isinstance(value, (str, bytes)):
        yield value
        for _, v in value.items():
            yield from _walk(v)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_ITEM = struct.Struct("<HHL")


def _check_offsets(name: str) -> int:
    data = (CORPUS / name).read_bytes()
    doc = dicom2ion.convert(CORPUS / name)
    assert doc["fileInfo"]["sha256"] == _sha(data) and doc["fileInfo"]["size"] == len(data)
    stream = _stream(data, doc)
    checked = 0
    for struct_value in _walk(doc["dataSet"]):
        if "dataOffset" not in struct_value:
            continue
        start, length = struct_value["dataOffset"], struct_value["length"]
        assert _sha(stream[start:start + length]) == struct_value["sha256"], (name, start)
        checked += 1
        if not struct_value.get("encapsulatedPixelData"):
            continue
        # the whole value: the offset table item first, the sequence delimiter last
        group, element, bot_length = _ITEM.unpack_from(stream, start)
        assert (group, element) == (0xFFFE, 0xE000)
        assert _ITEM.unpack_from(stream, start + length - 8)[:2] == (0xFFFE, 0xE0DD)
        origin = start + 8 + bot_length          # item tag of the first fragment
        for fragment in struct_value["fragments"]:
            position = fragment["position"]
            assert position - 8 - fragment["offset"] == origin, (name, fragment)
            assert _ITEM.unpack_from(stream, position - 8) == (0xFFFE, 0xE000, fragment["length"])
            assert _sha(stream[position:position + fragment["length"]]) == fragment["sha256"]
            checked += 1
        table = struct_value["basicOffsetTable"]
        if table:
            offsets = {f["offset"] for f in struct_value["fragments"]}
            assert set(table) <= offsets
    return checked


@needs_corpus
@pytest.mark.parametrize("name", [
    "pydicom/test_files__image_dfl.dcm",
    "dagcom/encoding-variants__pixel-data__CT0012.fragmented_no_bot_jpeg_ls.80.dcm",
    "dagcom/encoding-variants__pixel-data__CT0012.not_fragmented_bot_jpeg_ls.80.dcm",
    "dagcom/encoding-variants__transfer-syntax__CT1_UNC.explicit_big_endian.dcm",
    "pydicom/test_files__SC_rgb_gdcm_KY.dcm",
    "pydicom/test_files__SC_rgb_jpeg.dcm",
])
def test_offsets_and_digests_mean_what_the_document_says(name):
    assert _check_offsets(name) > 0


@needs_corpus
def test_deflated_offsets_count_inflated_bytes():
    name = "pydicom/test_files__image_dfl.dcm"
    doc = dicom2ion.convert(CORPUS / name)
    ref = doc["dataSet"]["PixelData"]
    assert ref["dataOffset"] + ref["length"] > doc["fileInfo"]["size"]
    assert doc["wire"]["deflate"]["dataOffset"] < ref["dataOffset"]


@needs_corpus
def test_frames_rules_on_the_two_jpeg_ls_encodings():
    # section 4.6: no offset table, NumberOfFrames 2, eleven fragments of which the
    # first and the seventh start with a JPEG-LS SOI -> frames [0, 6], [6, 5] (what
    # pydicom's frame generator finds); an offset table [0, 46416] -> one fragment per frame
    base = "dagcom/encoding-variants__pixel-data__CT0012."
    path = CORPUS / (base + "fragmented_no_bot_jpeg_ls.80.dcm")
    no_bot = dicom2ion.convert(path)["dataSet"]
    assert no_bot["NumberOfFrames"] == "2" and len(no_bot["PixelData"]["fragments"]) == 11
    assert list(no_bot["PixelData"]["basicOffsetTable"]) == []
    assert [list(f) for f in no_bot["PixelData"]["frames"]] == [[0, 6], [6, 5]]
    pydicom = pytest.importorskip("pydicom")
    from pydicom.encaps import generate_frames
    ds = pydicom.dcmread(path)
    expected = list(generate_frames(ds.PixelData, number_of_frames=2))
    data = path.read_bytes()
    fragments = no_bot["PixelData"]["fragments"]
    got = [b"".join(data[f["position"]:f["position"] + f["length"]]
                    for f in fragments[first:first + count])
           for first, count in no_bot["PixelData"]["frames"]]
    assert got == expected
    bot = dicom2ion.convert(CORPUS / (base + "not_fragmented_bot_jpeg_ls.80.dcm"))["dataSet"]
    assert [list(f) for f in bot["PixelData"]["frames"]] == [[0, 1], [1, 1]]


@needs_corpus
def test_inline_blobs_are_little_endian_in_big_endian_files():
    le = dicom2ion.convert(CORPUS / "pydicom/test_files__SC_rgb_small_odd.dcm")
    be = dicom2ion.convert(CORPUS / "pydicom/test_files__SC_rgb_small_odd_big_endian.dcm")
    assert be["fileInfo"]["encoding"] == "explicit-be"
    assert bytes(le["dataSet"]["PixelData"]) == bytes(be["dataSet"]["PixelData"])


@needs_corpus
def test_canonical_rebuild_of_big_endian_file_is_clean():
    doc = dicom2ion.convert(CORPUS / "pydicom/test_files__ExplVR_BigEnd.dcm")
    again = dicom2ion.convert(dicom2ion.to_dicom_bytes(doc, canonical=True))
    assert again["fileInfo"]["transferSyntaxUID"] == "1.2.840.10008.1.2.1"
    assert again["fileInfo"]["encoding"] == "explicit-le"
    assert "wire" not in again


# -- known issues (SCHEMA.md section 9) ------------------------------------------------

def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr == b"UI" else b" "
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _tiny_file(*elements: bytes) -> bytes:
    meta = _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1")
    return (bytes(128) + b"DICM" + struct.pack("<HH2sHL", 2, 0, b"UL", 4, len(meta)) + meta
            + b"".join(elements or (_element(0x0010, 0x0020, b"LO", b"ID"),)))


def _fields(struct_value) -> list:
    items = getattr(struct_value, "iteritems", None)
    return list(items()) if items is not None else list(struct_value.items())


def test_repeated_adjacent_tag_keeps_both_values():
    data = _tiny_file(_element(0x0010, 0x0020, b"LO", b"ID1"),
                      _element(0x0010, 0x0020, b"LO", b"ID2"))
    doc = dicom2ion.convert(data)
    assert [v for k, v in _fields(doc["dataSet"]) if k == "PatientID"] == ["ID1", "ID2"]
    assert dicom2ion.to_dicom_bytes(doc) == data


def test_repeated_tag_after_a_lower_tag_keeps_both_values():
    # section 3.1: repeated names in file order; 5.1: the second one's path is '00100020#2'
    data = _tiny_file(_element(0x0010, 0x0020, b"LO", b"ID1"),
                      _element(0x0010, 0x0010, b"PN", b"NAME"),
                      _element(0x0010, 0x0020, b"LO", b"ID2 "))  # odd: canonical padding
    doc = dicom2ion.convert(data)
    assert [v for k, v in _fields(doc["dataSet"]) if k == "PatientID"] == ["ID1", "ID2"]
    assert doc["wire"]["order"][""][-3:] == ["00100020", "00100010", "00100020"]
    assert dicom2ion.to_dicom_bytes(doc) == data


def test_repeated_tag_facts_use_the_occurrence_suffix():
    data = _tiny_file(_element(0x0010, 0x0020, b"LO", b"ID1"),
                      _element(0x0010, 0x0020, b"LO", b"ID2  "))  # non-standard padding
    doc = dicom2ion.convert(data)
    assert dict(doc["wire"]["elements"]) == {"00100020#2": {"pad": "   "}}
    assert dicom2ion.to_dicom_bytes(doc) == data


@needs_corpus
def test_inline_all_document_is_self_contained():
    data = (CORPUS / "pydicom/test_files__SC_rgb_jpeg.dcm").read_bytes()
    doc = dicom2ion.convert(data, inline_all=True)
    assert dicom2ion.to_dicom_bytes(doc) == data


@needs_corpus
def test_bulk_dir_rebuilds_a_deflated_file_without_source(tmp_path):
    original = (CORPUS / "pydicom/test_files__image_dfl.dcm").read_bytes()
    start = 334
    inflated = zlib.decompressobj(-15).decompress(original[start:])
    comp = zlib.compressobj(6, zlib.DEFLATED, -15, 1, zlib.Z_FILTERED)
    data = original[:start] + comp.compress(inflated) + comp.flush()
    doc = dicom2ion.convert(data, bulk_dir=str(tmp_path))
    assert doc["wire"]["deflate"]["dataOffset"] == start
    assert "level" not in doc["wire"]["deflate"]
    assert dicom2ion.to_dicom_bytes(doc, bulk_dir=str(tmp_path)) == data


@needs_corpus
def test_canonical_rebuild_declares_its_transfer_syntax():
    doc = dicom2ion.convert(CORPUS / "pydicom/test_files__ExplVR_BigEndNoMeta.dcm")
    again = dicom2ion.convert(dicom2ion.to_dicom_bytes(doc, canonical=True))
    assert again["fileInfo"].get("transferSyntaxUID") == "1.2.840.10008.1.2.1"
