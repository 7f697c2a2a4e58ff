"""Pretty text Ion keeps non-ASCII text readable and loads back equal (#16)."""

from __future__ import annotations

import pytest

import dicom2ion
from dicom2ion.ion import codec

from conftest import CORPUS

RUSS = CORPUS / "pydicom" / "charset_files__chrRuss.dcm"


def test_pretty_keeps_characters_and_escapes_controls():
    doc = {"a": "é Лю 😀 \x01 \x7f \u00a0 \\u0041 \\", "b": b"\x00"}
    text = codec.dumps(doc, binary=False, pretty=True).decode("utf-8")
    assert "é Лю 😀" in text
    assert "\\x01" in text and "\\x7f" in text and "\\xa0" in text   # controls stay escaped
    assert "\\\\u0041" in text                                       # an escaped backslash
    assert codec.loads(text) == doc


@pytest.mark.skipif(not RUSS.exists(), reason="corpus absent")
def test_pretty_corpus_file_is_readable():
    doc = dicom2ion.convert(RUSS)
    text = codec.dumps(doc, binary=False, pretty=True).decode("utf-8")
    assert 'PatientName: "Люкceмбypг"' in text
    assert codec.loads(text) == doc
