"""DICOM Specific Character Set (0008,0005) decoding and re-encoding.

Pure standard library.  The public API is:

``parse_charsets(value) -> tuple[str, ...]``
    Normalise the (ASCII-decoded) value of Specific Character Set into a tuple
    of defined terms.  ``()`` means the default repertoire.  The first value may
    be ``''`` (default repertoire as the initial set, e.g. ``('', 'ISO 2022 IR 87')``).

``decode(raw, charsets, vr) -> str``
    Never raises.  Bytes that cannot be decoded become U+FFFD.

``encode(text, charsets, vr) -> bytes``
    The inverse.  Raises ``ValueError`` (usually ``UnicodeEncodeError``) when the
    text cannot be represented.  Every successful result satisfies
    ``decode(encode(t)) == t`` (the encoder checks this itself).

``is_identity(raw, charsets, vr) -> bool``
    ``encode(decode(raw)) == raw``; never raises.

Behaviour in detail
-------------------
* Only the VRs SH, LO, ST, LT, UC, UT and PN use the Specific Character Set.
  All other VRs are decoded as ASCII (bytes >= 0x80 become U+FFFD) and encoded
  as strict ASCII.
* ``ISO_IR 192`` (UTF-8), ``GB18030`` and ``GBK`` (also ``ISO 2022 GBK``) are
  stand-alone: further values are ignored, ESC bytes are ordinary characters.
  As a non-first value they are ignored.
* Everything else is run through an ISO 2022 state machine (G0/G1 designation,
  PS3.5 6.1.2.5).  The initial state comes from value 1:

  - ``''``, ``ISO_IR 6``, ``ISO 2022 IR 6`` and unknown terms: G0 = ASCII and,
    leniently, G1 = ISO 8859-1 (like pydicom, which reads the default repertoire
    as Latin-1; files without Specific Character Set but with Latin-1 bytes are
    common).  Consequently ``encode`` also accepts Latin-1 characters for the
    default repertoire, so such files round-trip byte for byte.
  - ``ISO_IR 100/101/109/110/126/127/138/144/148/166/203`` (and the
    ``ISO 2022 IR`` spellings): G0 = ASCII, G1 = the right half of the ISO 8859
    part (TIS-620 for 166).
  - ``ISO_IR 13`` / ``ISO 2022 IR 13``: G0 = JIS X 0201 Roman (read as ASCII,
    like pydicom and Python's ``shift_jis``), G1 = JIS X 0201 katakana.  GR
    bytes in this state are decoded with ``shift_jis`` so that files that say
    ``ISO_IR 13`` but contain Shift-JIS kanji are still readable; when
    ``ISO_IR 13`` is the *only* value the encoder writes Shift-JIS as well, so
    those files round-trip.
  - ``ISO 2022 IR 149`` / ``ISO 2022 IR 58`` as value 1: G1 = KS X 1001 /
    GB 2312 from the start (EUC-KR / EUC-CN style, as pydicom reads them).
  - ``ISO 2022 IR 87`` / ``ISO 2022 IR 159`` as value 1: G0 stays ASCII (the
    multi-byte set is only reachable by escape sequence).

  All recognised escape sequences are honoured even if the set they designate
  was not declared (lenient reading).  Unrecognised escape sequences are kept
  as literal text (U+001B followed by the bytes).
* Reset points (PS3.5 6.1.2.5.3): every C0 control character except ESC, for
  SH/LO/UC/PN also ``\\`` (value delimiter) and for PN also ``^`` and ``=``.
  At a reset point the state returns to the initial one.  While G0 holds a
  94x94 set (JIS X 0208/0212), bytes 0x21-0x7E are halves of double-byte
  characters, so only control characters reset the state there.
* Encoding follows what the examples in PS3.5 Annex H/I and typical writers
  do: stay in the current set as long as it can encode the character;
  otherwise designate the first declared set (value 1 first) that can encode
  it.  Before each reset point and at the end of the value, if G0 is not the
  initial G0, the escape sequence of the initial G0 is written (``ESC ( B``,
  or ``ESC ( J`` when value 1 is ISO 2022 IR 13).  G1 is never explicitly
  switched back (the reset points do that implicitly), matching the Korean
  example of PS3.5 Annex I.  Space is written in ASCII (as Python's
  ``iso2022_jp`` codec does), so a space between kanji switches G0 back.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["parse_charsets", "decode", "encode", "is_identity", "CHARSET_VRS"]

from .p10.vr import CHARSET_VRS  # VRs whose values Specific Character Set affects

_ESC = b"\x1b"
_ESC_RE = re.compile(rb"\x1b[\x20-\x2f]+[\x30-\x7e]")
_ESC_RE_STR = re.compile("\x1b[\x20-\x2f]+[\x30-\x7e]")

# reset points: C0 controls other than ESC, plus VR-specific delimiters
_CTRL = bytes(b for b in range(0x20) if b != 0x1B)
_DELIMS = {
    "PN": _CTRL + b"\\^=",
    "SH": _CTRL + b"\\",
    "LO": _CTRL + b"\\",
    "UC": _CTRL + b"\\",
    "ST": _CTRL,
    "LT": _CTRL,
    "UT": _CTRL,
}
_DELIM_RE = {vr: re.compile(b"[" + re.escape(d) + b"]") for vr, d in _DELIMS.items()}
_DELIM_CHARS = {vr: frozenset(d.decode("ascii")) for vr, d in _DELIMS.items()}
_CTRL_RE = _DELIM_RE["ST"]
# tokens inside a chunk whose G0 is a 94x94 set
_MB_TOKEN_RE = re.compile(rb"([\x21-\x7e]+)|([\x80-\xff]+)|([\x00-\x20\x7f]+)")


def _make_decoder(codec: str):
    """A fast ``bytes -> str`` decoder (errors replaced) for ``codec``."""
    if codec in ("latin_1", "ascii"):
        return lambda b: b.decode(codec, "replace")
    mod = codecs.lookup(codec)
    table = getattr(__import__("encodings." + mod.name.replace("-", "_"), fromlist=["x"]),
                    "decoding_table", None) if mod.name.startswith(("iso8859", "tis")) else None
    if table is not None:
        charmap_decode = codecs.charmap_decode
        return lambda b: charmap_decode(b, "replace", table)[0]
    decoder = mod.decode
    return lambda b: decoder(b, "replace")[0]


class _GSet:
    """One graphic character set that can be designated to G0 or G1."""

    __slots__ = ("name", "slot", "esc", "codec", "multibyte", "wrap", "_enc", "dec")

    def __init__(self, name, slot, esc, codec, multibyte=False, wrap=None):
        self.name = name
        self.slot = slot  # 0 = G0 (GL), 1 = G1 (GR)
        self.esc = esc  # escape sequence designating it
        # single-byte G0 sets: unused; G1 sets: codec decoding GL as ASCII and
        # GR with this set; 94x94 G0 sets: iso2022 codec used with ``wrap``
        self.codec = codec
        self.multibyte = multibyte
        self.wrap = wrap
        self._enc: dict[str, bytes | None] = {}
        # dec(bytes) -> str: decodes GL as ASCII and GR with this set (G1 sets)
        self.dec = _make_decoder(codec)

    def __repr__(self):
        return f"<{self.name}>"

    def enc(self, c: str) -> bytes | None:
        """Bytes for character ``c`` in this set, or None."""
        try:
            return self._enc[c]
        except KeyError:
            pass
        b = self._compute_enc(c)
        if len(self._enc) < 100_000:
            self._enc[c] = b
        return b

    def _compute_enc(self, c: str) -> bytes | None:
        if not self.multibyte:  # single-byte sets: table is complete
            return None
        try:
            if self.slot == 0:
                e = c.encode(self.codec)
                w = self.wrap
                if not (e.startswith(w) and e.endswith(b"\x1b(B") and len(e) == len(w) + 5):
                    return None
                b = e[len(w) : len(w) + 2]
                if (w + b + b"\x1b(B").decode(self.codec) != c:
                    return None
                return b
            e = c.encode(self.codec)
            if not e or len(e) % 2 or min(e) < 0xA1 or e.decode(self.codec) != c:
                return None
            return e
        except (UnicodeError, LookupError):
            return None


def _ascii_like(name, esc):
    s = _GSet(name, 0, esc, "ascii")
    s._enc.update((chr(i), bytes((i,))) for i in range(0x80))
    return s


def _single_g1(name, esc, codec, lo=0x80, hi=0xFF):
    s = _GSet(name, 1, esc, codec)
    for i in range(lo, hi + 1):
        b = bytes((i,))
        try:
            ch = b.decode(codec)
        except UnicodeError:
            continue
        if len(ch) == 1 and ord(ch) >= 0x80:
            s._enc.setdefault(ch, b)
    return s


_ASCII = _ascii_like("ASCII", b"\x1b(B")
_ROMAJI = _ascii_like("JIS X 0201 Roman", b"\x1b(J")
_JIS0208 = _GSet("JIS X 0208", 0, b"\x1b$B", "iso2022_jp", True, b"\x1b$B")
_JIS0212 = _GSet("JIS X 0212", 0, b"\x1b$(D", "iso2022_jp_2", True, b"\x1b$(D")
_KATAKANA = _single_g1("JIS X 0201 Katakana", b"\x1b)I", "shift_jis", 0xA1, 0xDF)
_KSC = _GSet("KS X 1001", 1, b"\x1b$)C", "euc_kr", True)
_GB2312 = _GSet("GB 2312", 1, b"\x1b$)A", "gb2312", True)
_LATIN1 = _single_g1("ISO 8859-1", b"\x1b-A", "latin_1")
_96 = {
    100: _LATIN1,
    101: _single_g1("ISO 8859-2", b"\x1b-B", "iso8859_2"),
    109: _single_g1("ISO 8859-3", b"\x1b-C", "iso8859_3"),
    110: _single_g1("ISO 8859-4", b"\x1b-D", "iso8859_4"),
    126: _single_g1("ISO 8859-7", b"\x1b-F", "iso8859_7"),
    127: _single_g1("ISO 8859-6", b"\x1b-G", "iso8859_6"),
    138: _single_g1("ISO 8859-8", b"\x1b-H", "iso8859_8"),
    144: _single_g1("ISO 8859-5", b"\x1b-L", "iso8859_5"),
    148: _single_g1("ISO 8859-9", b"\x1b-M", "iso8859_9"),
    166: _single_g1("TIS 620", b"\x1b-T", "tis_620"),
    203: _single_g1("ISO 8859-15", b"\x1b-b", "iso8859_15"),
}

# defined term number -> sets it provides
_TERM_SETS: dict[int, tuple[_GSet, ...]] = {n: (_ASCII, s) for n, s in _96.items()}
_TERM_SETS.update(
    {
        6: (_ASCII,),
        13: (_ROMAJI, _KATAKANA),
        87: (_JIS0208,),
        159: (_JIS0212,),
        149: (_KSC,),
        58: (_GB2312,),
    }
)

# escape sequence -> set (decoding; lenient: any known sequence is honoured)
_ESCAPES: dict[bytes, _GSet] = {s.esc: s for s in _96.values()}
_ESCAPES.update(
    {
        b"\x1b(B": _ASCII,
        b"\x1b(J": _ROMAJI,
        b"\x1b)I": _KATAKANA,
        b"\x1b$B": _JIS0208,
        b"\x1b$@": _JIS0208,  # JIS C 6226-1978, read as JIS X 0208
        b"\x1b$(B": _JIS0208,
        b"\x1b$(D": _JIS0212,
        b"\x1b$)C": _KSC,
        b"\x1b$)A": _GB2312,
    }
)
_ESCAPES_STR = {k.decode("ascii") for k in _ESCAPES}

_STANDALONE = {"ISO_IR 192": "utf_8", "GB18030": "gb18030", "GBK": "gbk", "ISO 2022 GBK": "gbk"}

_TERM_RE = re.compile(r"^ISO[ _-]?(2022[ _-]?)?IR[ _-]?0*(\d+)$")
_ALIASES = {
    "ISO 2022 58": "ISO 2022 IR 58",
    "UTF-8": "ISO_IR 192",
    "UTF8": "ISO_IR 192",
    "ISO-IR 192": "ISO_IR 192",
}


def _normalize_term(term: str) -> str:
    t = term.strip(" \x00\t\r\n").upper()
    if not t:
        return ""
    t = _ALIASES.get(t, t)
    m = _TERM_RE.match(t)
    if m:
        return ("ISO 2022 IR " if m.group(1) else "ISO_IR ") + m.group(2)
    return t


def parse_charsets(value) -> tuple[str, ...]:
    """Normalised defined terms of Specific Character Set; ``()`` = default.

    ``value`` is the element value decoded as ASCII (``None``/``''`` allowed,
    backslash-separated, possibly padded).  A list/tuple of values or bytes is
    accepted too.  Spelling variants such as ``ISO-IR 100`` or ``ISO_IR_100``
    are normalised (``ISO_IR 100``); an empty first value is kept as ``''``.
    """
    if not value:
        return ()
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("latin-1")
    parts = value.split("\\") if isinstance(value, str) else [str(v) for v in value]
    terms = [_normalize_term(p) for p in parts]
    while len(terms) > 1 and not terms[-1]:
        terms.pop()
    if terms == [""]:
        return ()
    return tuple(terms)


def _term_number(term: str) -> int | None:
    if term == "":
        return 6
    m = _TERM_RE.match(term)
    if m:
        return int(m.group(2))
    return None


class _Spec:
    __slots__ = ("name", "codec", "init", "designations", "fast_enc", "sjis", "verify", "latin1")

    def __init__(self, charsets: tuple[str, ...]):
        self.name = "\\".join(charsets) or "ISO_IR 6"
        self.codec = None  # stand-alone codec (no ISO 2022)
        self.verify = False
        self.sjis = False
        self.latin1 = False
        first = charsets[0] if charsets else ""
        if first in _STANDALONE:
            self.codec = _STANDALONE[first]
            self.verify = self.codec != "utf_8"
            self.init = (_ASCII, _LATIN1)
            self.designations = ()
            self.fast_enc = None
            return
        numbers = [_term_number(t) for t in charsets if t not in _STANDALONE] or [6]
        n1 = numbers[0] if numbers[0] in _TERM_SETS else 6
        g0, g1 = _ASCII, _LATIN1
        for s in _TERM_SETS[n1]:
            if s.slot == 0 and not s.multibyte:
                g0 = s
            elif s.slot == 1:
                g1 = s
        self.init = (g0, g1)
        self.latin1 = g1 is _LATIN1
        desig: list[_GSet] = [g0, g1]
        for n in numbers:
            for s in _TERM_SETS.get(n, ()):
                if s not in desig:
                    desig.append(s)
        self.designations = tuple(desig)
        self.sjis = n1 == 13 and len(charsets) == 1
        # whole-string encoder that is exact when the whole text fits in the
        # initial state (only for single-byte charmap G1 sets)
        self.fast_enc = g1.codec if (g1 is not _KATAKANA and not g1.multibyte) else None


_SPECS: dict[tuple[str, ...], _Spec] = {}


def _get_spec(charsets) -> _Spec:
    spec = _SPECS.get(charsets) if type(charsets) is tuple else None
    if spec is None:
        key = tuple(charsets) if charsets else ()
        spec = _SPECS.get(key) or _Spec(key)
        if len(_SPECS) < 1024:
            _SPECS[key] = spec
    return spec


# ----------------------------------------------------------------- decoding


def _dec_state(b: bytes, g0: _GSet, g1: _GSet) -> str:
    if not b:
        return ""
    if not g0.multibyte:
        return g1.dec(b)
    parts = []
    for m in _MB_TOKEN_RE.finditer(b):
        gl, gr, other = m.groups()
        if gl is not None:
            odd = len(gl) % 2
            if odd:
                gl = gl[:-1]
            if gl:
                parts.append((g0.wrap + gl + b"\x1b(B").decode(g0.codec, "replace"))
            if odd:
                parts.append("\ufffd")
        elif gr is not None:
            parts.append(g1.dec(gr))
        else:
            parts.append(other.decode("latin-1"))
    return "".join(parts)


def _decode_2022(raw: bytes, spec: _Spec, vr: str) -> str:
    init = spec.init
    if 27 not in raw:
        return init[1].dec(raw)
    delim_re = _DELIM_RE[vr]
    out: list[str] = []
    g0, g1 = init
    start = 0

    def chunk(data: bytes, g0: _GSet, g1: _GSet):
        if not data:
            return g0, g1
        if (g0, g1) == init:
            out.append(_dec_state(data, g0, g1))
            return init
        m = (_CTRL_RE if g0.multibyte else delim_re).search(data)
        if m is None:
            out.append(_dec_state(data, g0, g1))
            return g0, g1
        out.append(_dec_state(data[: m.start()], g0, g1))
        out.append(_dec_state(data[m.start() :], *init))
        return init

    for m in _ESC_RE.finditer(raw):
        s = _ESCAPES.get(m.group())
        if s is None:
            continue  # unknown: kept as data
        g0, g1 = chunk(raw[start : m.start()], g0, g1)
        if s.slot == 0:
            g0 = s
        else:
            g1 = s
        start = m.end()
    chunk(raw[start:], g0, g1)
    return "".join(out)


def decode(raw: bytes, charsets: tuple[str, ...], vr: str) -> str:
    """Decode the (unpadded) bytes of a string element.  Never raises."""
    try:
        if type(raw) is not bytes:
            raw = bytes(raw)
        if raw.isascii() and (27 not in raw or vr not in CHARSET_VRS):
            return raw.decode("ascii")
        if vr not in CHARSET_VRS:
            return raw.decode("ascii", "replace")
        spec = _SPECS.get(charsets) if type(charsets) is tuple else None
        if spec is None:
            spec = _get_spec(charsets)
        if spec.codec is not None:
            return raw.decode(spec.codec, "replace")
        if 27 not in raw:  # no code extension used: initial state throughout
            if spec.latin1:
                return raw.decode("latin-1")
            return spec.init[1].dec(raw)
        return _decode_2022(raw, spec, vr)
    except Exception:  # pragma: no cover - defensive, must never raise
        try:
            return bytes(raw).decode("ascii", "replace")
        except Exception:
            return ""


# ----------------------------------------------------------------- encoding


def _encode_2022(text: str, spec: _Spec, vr: str) -> bytes:
    delims = _DELIM_CHARS[vr]
    init = spec.init
    init_g0 = init[0]
    g0, g1 = init
    out = bytearray()
    for i, c in enumerate(text):
        if c in delims:
            if g0 is not init_g0:
                out += init_g0.esc
            out.append(ord(c))
            g0, g1 = init
            continue
        if c == "\x1b":
            m = _ESC_RE_STR.match(text, i)
            if m and m.group() in _ESCAPES_STR:
                raise UnicodeEncodeError(
                    spec.name, text, i, m.end(), "text contains an ISO 2022 escape sequence"
                )
        b = g0.enc(c)
        if b is None:
            b = g1.enc(c)
            if b is None:
                for s in spec.designations:
                    b = s.enc(c)
                    if b is not None:
                        out += s.esc
                        if s.slot == 0:
                            g0 = s
                        else:
                            g1 = s
                        break
                else:
                    raise UnicodeEncodeError(
                        spec.name, text, i, i + 1, f"character not in {spec.name}"
                    )
        out += b
    if g0 is not init_g0:
        out += init_g0.esc
    return bytes(out)


def encode(text: str, charsets: tuple[str, ...], vr: str) -> bytes:
    """Encode ``text`` for an element of VR ``vr``.

    Raises ``ValueError`` (normally ``UnicodeEncodeError``) if the text cannot
    be represented so that :func:`decode` gives it back unchanged.
    """
    if text.isascii() and "\x1b" not in text:
        return text.encode("ascii")
    if vr not in CHARSET_VRS:
        return text.encode("ascii")
    spec = _get_spec(charsets)
    if spec.codec is not None:
        out = text.encode(spec.codec)
    elif spec.sjis:
        # lone ISO_IR 13: files in the wild carry Shift-JIS; write it back
        try:
            out = text.encode("shift_jis")
            if decode(out, charsets, vr) == text:
                return out
        except UnicodeEncodeError:
            pass
        out = _encode_2022(text, spec, vr)
    else:
        if spec.fast_enc is not None and "\x1b" not in text:
            try:
                return text.encode(spec.fast_enc)
            except UnicodeEncodeError:
                pass
        out = _encode_2022(text, spec, vr)
    if spec.codec is None or spec.verify:
        if decode(out, charsets, vr) != text:
            raise ValueError(f"text cannot be encoded reversibly with {spec.name!r}: {text!r}")
    return out


def is_identity(raw: bytes, charsets, vr) -> bool:
    """True if ``encode(decode(raw)) == raw``.  Never raises."""
    try:
        if type(raw) is not bytes:
            raw = bytes(raw)
        if raw.isascii() and 27 not in raw:
            return True
        return encode(decode(raw, charsets, vr), charsets, vr) == raw
    except Exception:
        return False
