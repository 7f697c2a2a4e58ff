"""ion/writable.py: the C writer's fast value types write the same bytes as
the plain values, binary and text, and leave the document unchanged."""

from __future__ import annotations

import copy
import datetime
import decimal
import io

from amazon.ion import simpleion
from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyBytes, IonPyDict, IonPyInt, IonPyList, IonPyText
from hypothesis import given, settings
from hypothesis import strategies as st

import dicom2ion
from dicom2ion.ion import codec
from dicom2ion.ion.null import null
from dicom2ion.ion.writable import writable
from conftest import ROOT, good_corpus_files

_names = st.sampled_from(["a", "b", "PatientName", "00091010", "", "é"])
_annotations = st.lists(st.sampled_from(["UN", "OB", "x"]), max_size=2).map(tuple)


def _annotated(kind, value, annotations):
    if not annotations:
        return value
    return kind.from_value(_ION_TYPE[kind], value, annotations)


_ION_TYPE = {IonPyText: IonType.STRING, IonPyInt: IonType.INT, IonPyBytes: IonType.BLOB,
             IonPyList: IonType.LIST}

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=40),
    st.binary(min_size=5000, max_size=5001),
    st.builds(lambda n: decimal.Decimal(n) / 100, st.integers(-10**6, 10**6)),
    st.just(datetime.datetime(2020, 1, 2, 3, 4, 5)),
    st.builds(_annotated, st.just(IonPyText), st.text(max_size=5), _annotations),
    st.builds(_annotated, st.just(IonPyInt), st.integers(), _annotations),
    st.builds(_annotated, st.just(IonPyBytes), st.binary(max_size=5), _annotations),
    st.builds(null, _annotations),
)


def _multimap(pairs, annotations):
    struct = IonPyDict()
    for name, value in pairs:
        struct.add_item(name, value)
    struct.ion_annotations = annotations
    return struct


_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.builds(_annotated, st.just(IonPyList), st.lists(inner, max_size=3), _annotations),
    st.dictionaries(_names, inner, max_size=4),
    st.builds(_multimap, st.lists(st.tuples(_names, inner), max_size=5), _annotations),
), max_leaves=25)


def _c_writer(document, binary):
    out = io.BytesIO()
    simpleion.dump_extension(document, out, binary=binary)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _values, max_size=6))
def test_writable_writes_the_same_bytes_as_the_plain_values(document):
    before = repr(document)
    fast = writable(document)
    assert _c_writer(fast, True) == _c_writer(document, True)
    assert _c_writer(fast, False) == _c_writer(document, False)
    assert repr(document) == before          # the document itself is untouched
    assert fast == document


def test_writable_types_carry_the_writers_attributes():
    fast = writable({"s": "x", "i": 1, "f": 1.5, "b": b"ab", "l": [1], "d": {"k": "v"}})
    for value in fast.values():
        assert value.ion_annotations == ()
        assert isinstance(value.ion_type, IonType)
    assert type(fast["s"]) is not str and isinstance(fast["s"], str)
    big = b"x" * 10000
    assert writable({"b": big})["b"] is big         # large blobs are not copied


def test_codec_dump_of_corpus_documents_is_amazon_ions_own_output():
    """Binary and compact text through codec.dump are byte for byte what
    amazon.ion writes for the plain document."""
    for path in good_corpus_files()[::5] + sorted((ROOT / "fixtures").glob("*.dcm"))[:20]:
        try:
            doc = dicom2ion.convert(path)
        except dicom2ion.DicomParseError:
            continue
        assert codec.dumps(doc) == _c_writer(doc, True), path
        assert codec.dumps(doc, binary=False) == _c_writer(doc, False) + b"\n", path
        assert codec.loads(codec.dumps(doc)) == doc
