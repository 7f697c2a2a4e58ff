"""verify's text-vs-binary check: equal binary Ion settles it at once, and
when the bytes differ amazon.ion's ion_equals still decides (so a real
difference is reported and a harmless one is not)."""

from __future__ import annotations

from conftest import FIXTURES

from dicom2ion import verify
from dicom2ion.ion import codec

EXAMPLE = FIXTURES / "example_ct.dcm"


def test_identical_file_passes_the_text_check():
    result = verify.verify_p10(str(EXAMPLE))
    assert result["status"] == "identical"
    assert result["checks"]["textEqualsBinary"] is True


def test_a_value_changed_by_the_text_trip_is_caught(monkeypatch):
    real_loads = codec.loads

    def loads(data, **kw):
        value = real_loads(data, **kw)
        if data[:4] != b"\xe0\x01\x00\xea":      # text Ion (no binary version marker)
            value["dataSet"]["PatientName"] = "Changed^ByText"
        return value

    monkeypatch.setattr(verify.codec, "loads", loads)
    result = verify.verify_p10(str(EXAMPLE))
    assert result["checks"]["textEqualsBinary"] is False
    assert result["status"] == "different"


def test_different_bytes_but_equal_values_still_pass(monkeypatch):
    real_dumps = codec.dumps
    calls = []

    def dumps(doc, **kw):
        data = real_dumps(doc, **kw)
        calls.append(kw.get("binary", True))
        if kw.get("binary", True) and len(calls) > 2:
            data += b"\x00"      # not the same bytes: the value comparison decides
        return data

    monkeypatch.setattr(verify.codec, "dumps", dumps)
    result = verify.verify_p10(str(EXAMPLE))
    assert result["checks"]["textEqualsBinary"] is True
    assert result["status"] == "identical"
