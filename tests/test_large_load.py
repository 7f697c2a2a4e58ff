"""Binary Ion with large blobs (issue 15's memory goals).

``ion/load_large`` walks a document by its length headers and reads each
large blob once: it must give exactly what amazon.ion's full load gives --
equal values of the same types, with annotations, repeated field names and
local symbol tables -- and a clear ``IonDocumentError`` for damaged Ion.
``ion/dump_large`` passes large blobs through and must write the C
writer's bytes. Peak memory is measured in child processes."""

from __future__ import annotations

import io
import random
import sys

import pytest
from amazon.ion import simpleion
from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyBytes, IonPyDict, IonPyList

import dicom2ion
from conftest import FIXTURES, ROOT, corpus_files
from dicom2ion.errors import Dicom2IonError, IonDocumentError
from dicom2ion.ion import codec, dump_large, inplace, load_large, multimap
from dicom2ion.ion.binary_walk import BVM, Unsupported, header, var_uint_bytes
from dicom2ion.ion.equality import ion_same
from dicom2ion.ion.null import normalise

sys.path.insert(0, str(ROOT / "tools"))
import make_big_file  # noqa: E402

_BARE = simpleion.IonPyValueModel.MAY_BE_BARE


def _full(data: bytes):
    """amazon.ion's own load, as codec loads small documents."""
    return normalise(simpleion.loads(data, single_value=True, value_model=_BARE))


def _walked(data: bytes, large: int = load_large.LARGE):
    return load_large.load(io.BytesIO(data), large=large)


def _texts(value) -> tuple:
    return tuple(getattr(a, "text", a) for a in getattr(value, "ion_annotations", ()) or ())


def assert_identical(ours, theirs, where="") -> None:
    """Equal Ion values and, level by level, the same Python types, Ion
    types, annotations (as ``SymbolToken``s where amazon.ion has them) and
    field order."""
    assert ion_same(ours, theirs), where
    stack = [(ours, theirs, where)]
    while stack:
        a, b, at = stack.pop()
        assert type(a) is type(b), (at, type(a), type(b))
        assert getattr(a, "ion_type", None) == getattr(b, "ion_type", None), at
        assert _texts(a) == _texts(b), at
        assert ([type(x) for x in getattr(a, "ion_annotations", ()) or ()]
                == [type(x) for x in getattr(b, "ion_annotations", ()) or ()]), at
        if isinstance(a, IonPyDict):
            pa, pb = multimap.pairs(a), multimap.pairs(b)
            assert [k for k, _ in pa] == [k for k, _ in pb], at
            stack.extend((x, y, f"{at}/{k}") for (k, x), (_, y) in zip(pa, pb))
        elif isinstance(a, list):
            assert len(a) == len(b), at
            stack.extend((x, y, f"{at}/{i}") for i, (x, y) in enumerate(zip(a, b)))


# -- documents ---------------------------------------------------------------------

def _converted(path, **options) -> bytes:
    try:
        doc = dicom2ion.convert(path, reproducible=True, **options)
    except Dicom2IonError:
        return b""
    return codec.dumps(doc)


_SOURCES = corpus_files() + sorted(FIXTURES.glob("*.dcm"))


@pytest.mark.parametrize("path", _SOURCES, ids=lambda p: p.name)
def test_walked_load_is_amazon_ions_load_on_converted_documents(path):
    for options in ({}, {"inline_all": True}):
        data = _converted(path, **options)
        if not data:
            continue
        full = _full(data)
        for large in (1, 40, load_large.LARGE):      # every value walked .. the default
            assert_identical(_walked(data, large), full, f"{path.name} {options} {large}")


def _big(tmp_path, size, encapsulated):
    path = tmp_path / ("enc.dcm" if encapsulated else "native.dcm")
    make_big_file.write_big_file(str(path), size, seed=5, encapsulated=encapsulated)
    return path


@pytest.mark.parametrize("encapsulated", [False, True], ids=["native", "encapsulated"])
def test_large_inline_documents_load_the_same_through_every_path(tmp_path, encapsulated):
    source = _big(tmp_path, 3 << 20, encapsulated)
    ion = tmp_path / "big.ion"
    doc = dicom2ion.convert_to(source, ion, inline_all=True)
    data = ion.read_bytes()
    assert len(data) >= codec.LARGE_INLINE
    full = _full(data)
    pixels = full["dataSet"]["PixelData"]
    if encapsulated:
        fragments = pixels["fragments"]
        assert len(fragments) == 6 and type(fragments) is list
        assert all(type(f["data"]) is bytes and len(f["data"]) == 512 * 1024
                   for f in fragments)
    else:
        assert type(pixels) is IonPyBytes and _texts(pixels) == ("OW",)
    assert ion_same(full, doc)
    assert_identical(dicom2ion.load(ion), full, "load(path)")
    assert_identical(dicom2ion.load(data), full, "load(bytes)")
    assert_identical(_walked(data), full, "walked")
    back = tmp_path / "back.dcm"
    assert dicom2ion.to_dicom(ion, back)["identical"]
    assert back.read_bytes() == source.read_bytes()


def _symbol_table(symbols, append=False) -> bytes:
    """A local symbol table's bytes: $ion_symbol_table::{imports:
    $ion_symbol_table (when appending), symbols: [...]}."""
    texts = b"".join(header(0x8, len(t.encode())) + t.encode() for t in symbols)
    fields = _field(7, _list(texts))
    if append:
        fields = _field(6, b"\x71\x03") + fields
    return _annotated([3], _struct(fields))


def _field(sid: int, value: bytes) -> bytes:
    return var_uint_bytes(sid) + value


def _annotated(sids, value: bytes) -> bytes:
    annotations = b"".join(var_uint_bytes(s) for s in sids)
    body = var_uint_bytes(len(annotations)) + annotations + value
    return header(0xE, len(body)) + body


def _blob(data: bytes) -> bytes:
    return header(0xA, len(data)) + data


def _struct(*fields: bytes) -> bytes:
    body = b"".join(fields)
    return header(0xD, len(body)) + body


def _list(*values: bytes) -> bytes:
    body = b"".join(values)
    return header(0xB, len(body)) + body



def _hand_made() -> bytes:
    """Two local symbol tables (the second appends), repeated field names,
    annotated blobs, structs and lists, padding, nulls, large and small."""
    big = bytes(range(256)) * 400                       # 100 KiB
    lst = _symbol_table(["dataSet", "PixelData", "OW", "fragments", "data"])
    lst += _symbol_table(["name", "x-private", "SQ"], append=True)
    # user symbols: dataSet=10 PixelData=11 OW=12 fragments=13 data=14 name=15
    # x-private=16 SQ=17 (and the system ones below 10)
    text = b"\x83abc"
    frag = _struct(_field(14, _blob(big)), _field(15, text), _field(0, b"\x01\x00"))
    data_set = _struct(
        _field(15, text), _field(15, b"\x0f"),                      # a repeated name, a null
        _field(11, _annotated([12], _blob(big))),                   # OW::{{...}}
        _field(16, _annotated([12, 17], _blob(big[:300]))),         # small, two annotations
        _field(13, _list(frag, b"\x00", _annotated([17], frag))),   # padding in a list
        _field(16, _annotated([17], _struct(_field(14, _blob(big)), _field(14, _blob(b"x"))))),
        _field(14, _annotated([12], _list(_blob(big), b"\x2f"))),   # OW::[blob, null.int]
        _field(16, _annotated([15], b"\x0f")),                      # name::null
    )
    return BVM + lst + _struct(_field(10, data_set), _field(15, text))


def test_symbol_tables_annotations_and_repeated_names_are_kept():
    data = _hand_made()
    full = _full(data)
    data_set = full["dataSet"]
    assert len(data_set.get_all_values("name")) == 2
    assert len(data_set.get_all_values("x-private")) == 3
    assert type(data_set["PixelData"]) is IonPyBytes
    assert type(data_set["data"]) is IonPyList
    for large in (1, 300, 1 << 14, load_large.LARGE):
        walked = _walked(data, large)
        assert_identical(walked, full, f"large={large}")
    assert type(walked["dataSet"]["PixelData"]) is IonPyBytes
    assert walked["dataSet"]["PixelData"].ion_type == IonType.BLOB


def test_what_the_walk_does_not_handle_is_loaded_whole(tmp_path):
    data = codec.dumps({"dataSet": {"PixelData": b"y" * (2 << 20)}})
    two_values = data + data[4:]                          # a second top-level value
    with pytest.raises(Unsupported):
        _walked(two_values)
    with pytest.raises(IonDocumentError):                 # (amazon.ion wants one value)
        codec.loads(two_values)
    from dicom2ion.ion.binary_walk import Walker
    walker = Walker(io.BytesIO(data))
    walker.document()
    annotated_top = data[:walker.top] + _annotated([4], data[walker.top:])   # name::{...}
    with pytest.raises(Unsupported):
        _walked(annotated_top)
    path = tmp_path / "annotated.ion"
    path.write_bytes(annotated_top)
    assert_identical(dicom2ion.load(path), _full(annotated_top))


# -- damaged Ion -----------------------------------------------------------------

def test_cut_or_damaged_large_documents_are_clear_errors(tmp_path):
    source = _big(tmp_path, 2 << 20, encapsulated=True)
    data = codec.dumps(dicom2ion.convert(source, inline_all=True))
    path = tmp_path / "cut.ion"
    for cut in (len(data) - 1, len(data) // 2, codec.LARGE_INLINE):
        path.write_bytes(data[:cut])
        with pytest.raises(IonDocumentError) as err:
            dicom2ion.load(path)
        message = str(err.value)
        assert str(path) in message and "not a readable Ion document" in message
        assert "cut short" in message
        with pytest.raises(IonDocumentError, match="cut short"):
            dicom2ion.load(data[:cut])
    path.write_bytes(_overlong_data_set(data))
    with pytest.raises(IonDocumentError, match="runs past the end of its struct"):
        dicom2ion.load(path)


def _overlong_data_set(data: bytes) -> bytes:
    """The document with ``dataSet``'s length made longer than the document."""
    from dicom2ion.ion.binary_walk import Walker
    walker = Walker(io.BytesIO(data))
    start, end = walker.document()
    vpos = next(vpos for name, vpos, _, _ in walker.fields(start, end) if name == "dataSet")
    assert data[vpos] == 0xDE and not data[vpos + 1] & 0x80    # a VarUInt of 2+ bytes
    out = bytearray(data)
    out[vpos + 1] = 0x7F
    return bytes(out)


def test_random_damage_is_an_error_or_amazon_ions_value():
    """Bytes changed or cut at random: the walk raises IonDocumentError (or
    gives up: Unsupported) or gives what amazon.ion gives."""
    data = _hand_made()
    rng = random.Random(15)
    outcomes = set()
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[:rng.randrange(len(damaged))]
        damaged = bytes(damaged)
        try:
            walked = _walked(damaged, rng.choice((1, 300, load_large.LARGE)))
        except (IonDocumentError, Unsupported) as exc:
            outcomes.add(type(exc).__name__)
            continue
        outcomes.add("loaded")
        try:
            full = _full(damaged)
        except Exception:      # amazon.ion refuses what the walk read (a blob's bytes changed)
            continue
        assert_identical(walked, full)
    assert outcomes >= {"IonDocumentError", "loaded"}


# -- writing ----------------------------------------------------------------------

@pytest.mark.parametrize("path", corpus_files()[::4], ids=lambda p: p.name)
def test_dump_large_writes_the_c_writers_bytes(path):
    try:
        doc = dicom2ion.convert(path, inline_all=True, reproducible=True)
    except Dicom2IonError:
        pytest.skip("not convertible")
    expected = simpleion.dumps(doc, binary=True)
    for large in (1, 16, dump_large.LARGE):
        out = io.BytesIO()
        dump_large.dump(doc, out, large=large)
        assert out.getvalue() == expected, large


def test_dump_large_of_annotations_and_repeated_names():
    doc = _full(_hand_made())
    expected = simpleion.dumps(doc, binary=True)
    for large in (1, 300, 1 << 14):
        out = io.BytesIO()
        dump_large.dump(doc, out, large=large)
        assert out.getvalue() == expected, large
        assert_identical(_full(out.getvalue()), doc)


# -- in place -------------------------------------------------------------------------

def test_filled_in_place_values():
    size = inplace.MIN_SIZE + 3
    assert inplace.allocate(bytes, inplace.MIN_SIZE - 1) is None
    filling = inplace.filling(IonPyBytes, size)
    assert filling is not None
    filling.extend(b"a" * 10)
    filling.append(memoryview(b"b" * (size - 10)))
    with pytest.raises(ValueError):
        filling.extend(b"c")
    value = filling.take()
    assert type(value) is IonPyBytes and value == b"a" * 10 + b"b" * (size - 10)
    assert hash(value) == hash(bytes(value))
    short = inplace.filling(bytes, size)
    short.extend(b"z" * 5)
    part = short.take()
    assert type(part) is bytes and part == b"zzzzz"


def test_inline_all_of_a_cut_file_keeps_the_bytes_there(tmp_path):
    source = _big(tmp_path, 2 << 20, encapsulated=False)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(source.read_bytes()[:-1000])
    doc = dicom2ion.convert(cut, inline_all=True)
    pixels = doc["dataSet"]["PixelData"]
    assert type(pixels) is IonPyBytes and _texts(pixels) == ("OW",)
    assert len(pixels) == (2 << 20) - 1000
    out = tmp_path / "cut.ion"
    dicom2ion.convert_to(cut, out, inline_all=True)
    back = tmp_path / "back.dcm"
    assert dicom2ion.to_dicom(out, back)["identical"]
    assert back.read_bytes() == cut.read_bytes()


# -- memory -----------------------------------------------------------------------------

_LOAD = "import sys, dicom2ion\ndicom2ion.load(sys.argv[1])\n"


@pytest.mark.parametrize("encapsulated", [False, True], ids=["native", "encapsulated"])
def test_inline_all_and_load_peak_memory(tmp_path, encapsulated):
    """Peak RSS above the interpreter, in child processes: convert
    --inline-all at most 1.5x the file (it was 2.0x: a copy of the pixel
    data in the visitor and one in amazon.ion's writer), load() at most 1.3x
    the Ion (it was 2.0x: amazon.ion's buffer and the value)."""
    source = _big(tmp_path, 48 << 20, encapsulated)
    ion = tmp_path / "big.ion"
    run = make_big_file.run_child
    base = run([sys.executable, "-c", "import dicom2ion.cli"])["peak_rss_mib"]
    conv = run([sys.executable, "-m", "dicom2ion", "convert", str(source), "-o", str(ion),
                "--inline-all", "-q"])
    assert conv["exit"] == 0, conv["stderr"]
    load = run([sys.executable, "-c", _LOAD, str(ion)])
    assert load["exit"] == 0, load["stderr"]
    mib = 1 << 20
    convert_ratio = (conv["peak_rss_mib"] - base) * mib / source.stat().st_size
    load_ratio = (load["peak_rss_mib"] - base) * mib / ion.stat().st_size
    assert convert_ratio < 1.5, conv
    assert load_ratio < 1.3, load
