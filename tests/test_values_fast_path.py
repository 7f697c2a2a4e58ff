"""values.decode's fast path for ASCII text gives what the general rule
(decode, strip, re-encode, compare) gives, for every text VR and character
set, padded or not (hypothesis)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from dicom2ion.ion import values
from dicom2ion.p10.vr import TEXT_VRS

CHARSETS = [(), ("ISO_IR 100",), ("ISO_IR 192",), ("", "ISO 2022 IR 87"),
            ("ISO 2022 IR 6", "ISO 2022 IR 149"), ("ISO_IR 13",), ("GB18030",)]
ASCII = st.binary(min_size=1, max_size=24).map(lambda b: bytes(c & 0x7F for c in b))
PADDED = st.tuples(ASCII, st.sampled_from([b"", b" ", b"\x00", b"  ", b" \x00", b"\x00 "])) \
    .map(lambda t: t[0] + t[1])


@given(data=st.one_of(ASCII, PADDED), vr=st.sampled_from(sorted(TEXT_VRS)),
       charsets=st.sampled_from(CHARSETS))
def test_fast_path_agrees_with_the_general_rule(data, vr, charsets):
    assert values.decode(vr, data, True, charsets) == values._text_value(vr, data, charsets)


def test_the_fast_path_cases():
    assert values.decode("CS", b"CT", True, ()) == ("CT", None)
    assert values.decode("UI", b"1.2.3\x00", True, ()) == ("1.2.3", None)
    assert values.decode("LO", b"ABC ", True, ("ISO_IR 100",)) == ("ABC", None)
    # not canonical: the general rule records the bytes
    assert values.decode("UI", b"1.2.3 ", True, ()) == ("1.2.3", {"pad": " "})
    assert values.decode("SH", b"ABC", True, ()) == ("ABC", {"pad": ""})
    assert values.decode("SH", b"  ", True, ()) == (None, {"pad": "  "})
    assert values.decode("PN", b"\x1b$B", True, ("", "ISO 2022 IR 87")) == \
        values._text_value("PN", b"\x1b$B", ("", "ISO 2022 IR 87"))
