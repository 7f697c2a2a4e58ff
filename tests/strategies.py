"""Hypothesis strategies: random DICOM Part 10 files, built as event lists.

``p10_samples()`` draws a whole file as a list of ``dicom2ion.events``
(offsets 0, defined lengths of sequences and items left as ``None`` for the
writer to measure, values given as their exact bytes) and writes it with
``dicom2ion.p10.write_events``. The result is a :class:`Sample` holding both.

What is covered
---------------
* every VR, with valid and edge values: empty values, the longest value a
  short explicit header allows (0xFFFF), odd (unpadded) lengths, NUL padding
  and extra trailing spaces, text with backslashes, FL/FD NaN (quiet,
  signalling, negative, with payload bits), +/-inf, -0.0, denormals, SV/UV
  beyond 2**53, multi-valued numbers and AT, AT/numbers of a size that is not
  a multiple of the unit, OB/OW/UN/... of odd sizes, values over 256 bytes
  (bulk references);
* text in the default repertoire (ASCII, and Latin-1 bytes read leniently),
  ISO_IR 100, ISO_IR 192, ISO 2022 IR 87 with escape sequences, and bytes
  that do not decode in the declared set; a Specific Character Set in an
  item overriding its parent's;
* sequences and items of defined and undefined length, empty sequences and
  empty items, non-zero delimiter length fields, UN of undefined length (an
  implicit VR LE sequence inside an explicit data set), nesting;
* private blocks (odd group, creator (gggg,00bb) then (gggg,bbxx), private
  SQ and private encapsulated data), unknown even-group tags, dictionary
  tags without a VR, wire VRs that differ from the dictionary's, invalid VR
  bytes (read as UN with ``raw_vr``), non-zero reserved header bytes, group
  length elements, elements out of ascending order and repeated tags;
* implicit VR LE, explicit VR LE, explicit VR BE, deflated explicit VR LE
  (every zlib level), encapsulated pixel data (JPEG baseline, RLE or an
  unknown transfer syntax UID) with missing, empty, filled or odd-sized basic
  offset tables and random, odd or empty fragments; a declared transfer
  syntax that does not match the data set's real encoding (including
  implicit VR big endian data under explicit VR BE);
* with and without preamble (zero or random bytes), with and without a file
  meta group (explicit or implicit VR; group length right or wrong; with or
  without TransferSyntaxUID), trailing bytes after the data set (short, or
  starting with bytes that are not a VR in explicit VR), bytes after the end
  of a deflated stream.

What the reader legitimately reads differently (and so is not generated)
-----------------------------------------------------------------------
* In implicit VR the reader takes VRs from the dictionary: elements get
  ``vr_of(tag)`` (UN when unknown, OW for "OB or OW"), a tag whose dictionary VR is SQ is
  always a sequence, a UN value of 8 bytes or more starting with an item tag
  (FFFE,E000) is read as a sequence (little endian: in implicit VR big
  endian such sequences need undefined length), an empty defined-length
  private sequence is an empty UN element, and an undefined length on an OB/OW tag
  or on Pixel Data opens encapsulated data. The generator follows these
  rules (``_avoid_item_tag`` rewrites such UN values).
* The reader trusts the declared byte order and checks only explicit vs
  implicit VR (the first element's bytes 4-5 must be a VR in explicit VR,
  and must not look like one in implicit VR: small lengths). So a wrong
  declaration is generated only as implicit/explicit VR LE swapped, or
  implicit VR big endian data under explicit VR BE. Without a meta group
  (or without TransferSyntaxUID) it guesses the byte order from the first
  element's group, which must be 0008 (and a data set must not be empty).
  ``_with_head`` puts an element of group 0008 with a valid VR first. A data
  set that is empty is read in the declared (or default implicit LE)
  encoding.
* Trailing bytes are only trailing bytes when they cannot be read as an
  element: fewer than 8, or (explicit VR, after at least one element) with
  bytes 4-5 that are not two capital letters; never starting with group
  0002 (would continue the meta group) or FFFE (an item tag).
* Without a preamble, bytes 128-131 of the file must not be "DICM".
* The reader reports the first zlib level (in its own order) that
  reproduces the compressed bytes, which may differ from the level drawn.

``reread_mismatch(sample)`` checks all this: the bytes must re-read to the
generated events modulo offsets, measured lengths and the deflate level.
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Optional

from hypothesis import assume
from hypothesis import strategies as st

from dicom2ion.dictionary import _standard, lookup, vr_of
from dicom2ion.events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart, Fragment,
    FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble, SequenceEnd,
    SequenceStart, Trailing,
)
from dicom2ion.p10 import iter_events, wire, write_events

# --------------------------------------------------------------------------
# DICOM facts (written out here rather than imported from the package)

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
UNKNOWN_UID = "1.2.826.0.1.3680043.9.9999.42"

LONG_VRS = ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV")
SHORT_VRS = ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
             "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US")
ALL_VRS = LONG_VRS + SHORT_VRS
TEXT_VRS = ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM",
            "UC", "UI", "UR", "UT")
CHARSET_VRS = ("SH", "LO", "ST", "LT", "UC", "UT", "PN")
NUMBERS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q",
           "UV": "Q"}

ITEM_TAG_LE = b"\xfe\xff\x00\xe0"
PIXEL_DATA = 0x7FE00010
SPECIFIC_CHARACTER_SET = 0x00080005
SOP_UIDS = (0x00080016, 0x00080018)   # SOPClassUID, SOPInstanceUID

# Specific Character Set value -> how to turn text into bytes in that set.
CHARSETS = {
    None: None,
    "ISO_IR 100": "latin-1",
    "ISO_IR 192": "utf-8",
    "\\ISO 2022 IR 87": "iso2022_jp",
}

# Constructs a test can leave out (test_properties.py says why each is).
EXCLUDABLE = frozenset({
    "charset_out_of_order",  # charset text before the Specific Character Set (in the
                             # file, or in tag order: tags below (0008,0005))
    "raw_vr_fragments",      # encapsulated data whose VR bytes are not a VR
    "sop_uid_not_text",      # SOPClassUID/SOPInstanceUID with a wire VR other than UI
})

# Constructs every sample leaves out because of a package bug, each with a
# strict-xfail regression test in test_properties.py (none at the moment:
# the bugs these tests found are fixed and their regression tests pass).
KNOWN_BUGS = frozenset()


# --------------------------------------------------------------------------
# tag pools

def _standard_pools():
    by_vr = {}
    sq = []
    no_vr = []
    for tag, (kw, vrs, vm, name, retired) in sorted(_standard.ENTRIES.items()):
        group = tag >> 16
        if group in (0x0002, 0xFFFE) or group < 0x0008 or tag == SPECIFIC_CHARACTER_SET:
            continue
        if not vrs:
            no_vr.append(tag)
        elif vrs == ("SQ",):
            if len(sq) < 40:
                sq.append(tag)
        else:
            bucket = by_vr.setdefault(vrs, [])
            if len(bucket) < 6:
                bucket.append(tag)
    plain = [t for bucket in by_vr.values() for t in bucket] + no_vr
    return sorted(plain), sq, no_vr


STANDARD_TAGS, SQ_TAGS, NO_VR_TAGS = _standard_pools()
OB_OW_TAGS = sorted(t for t in STANDARD_TAGS if vr_of(t) in ("OB", "OW") and t != PIXEL_DATA)
# Groups tried for unknown even tags (checked against the dictionary).
UNKNOWN_GROUPS = (0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0040, 0x0050, 0x0070, 0x00E0,
                  0x0100, 0x1000, 0x2010, 0x4000, 0x7FDE, 0xFFFC)
LOW_GROUPS = (0x0000, 0x0004, 0x0006)   # only where order does not matter for detection
PRIVATE_GROUPS = (0x0009, 0x0011, 0x0019, 0x0029, 0x0043, 0x00FF, 0x2001, 0x7FE1, 0xFFFF)


def _is_unknown(tag: int) -> bool:
    return lookup(tag) is None


def implicit_vr(tag: int) -> str:
    """The VR the reader gives an implicit VR element: the dictionary's (the
    first of several; OW for "OB or OW"), UN when the dictionary has none."""
    vr = vr_of(tag) or "UN"
    if vr == "OB":
        entry = lookup(tag)
        if entry is not None and "OW" in entry.vrs:
            vr = "OW"
    return vr


# --------------------------------------------------------------------------
# nodes: ("el", tag, vr, value, raw_vr, reserved)
#        ("seq", tag, vr, undefined, items, end_length, reserved)
#            items: [(undefined, nodes, delimiter_length)]
#        ("frag", tag, vr, bot, fragments, end_length, raw_vr, reserved)

class Ctx(NamedTuple):
    explicit: bool
    little: bool
    charset: Optional[str]
    depth: int
    exclude: frozenset


def node_tag(node) -> int:
    return node[1]


def _pack(fmt: str, little: bool, *values) -> bytes:
    return struct.pack(("<" if little else ">") + fmt, *values)


# -- values -------------------------------------------------------------------

FL_BITS = (0x7FC00000, 0x7FC00001, 0x7F800001, 0xFFC00000, 0x7FFFFFFF, 0x7F800000,
           0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF, 0x3F800000)
FD_CANONICAL_BITS = (0x7FF8000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
                     0x8000000000000000, 0x0000000000000001, 0x7FEFFFFFFFFFFFFF,
                     0x3FF0000000000000)
FD_NAN_PAYLOAD_BITS = (0x7FF8000000000001, 0x7FF0000000000001, 0xFFF8000000000000,
                       0x7FFFFFFFFFFFFFFF, 0xFFF0000000000001)
BIG_INTS = {"SV": (2 ** 53 + 1, -(2 ** 53) - 1, 2 ** 63 - 1, -(2 ** 63)),
            "UV": (2 ** 53 + 1, 2 ** 63, 2 ** 64 - 1)}


@st.composite
def number_value(draw, vr: str, ctx: Ctx) -> bytes:
    fmt = NUMBERS[vr]
    size = struct.calcsize(fmt)
    shape = draw(st.sampled_from(("empty", "one", "one", "one", "many", "odd")))
    if shape == "empty":
        return b""
    if shape == "odd":
        n = draw(st.integers(1, 3 * size).filter(lambda k: k % size))
        return draw(st.binary(min_size=n, max_size=n))
    count = 1 if shape == "one" else draw(st.integers(2, 5))
    out = []
    for _ in range(count):
        if vr == "FL":
            bits = draw(st.one_of(st.sampled_from(FL_BITS), st.integers(0, 2 ** 32 - 1)))
            out.append(_pack("I", ctx.little, bits))
        elif vr == "FD":
            bits = draw(st.one_of(
                st.sampled_from(FD_CANONICAL_BITS), st.sampled_from(FD_NAN_PAYLOAD_BITS),
                st.integers(0, 2 ** 64 - 1),
                st.floats().map(lambda f: struct.unpack("<Q", struct.pack("<d", f))[0])))
            out.append(_pack("Q", ctx.little, bits))
        else:
            lo, hi = {"H": (0, 2 ** 16 - 1), "h": (-(2 ** 15), 2 ** 15 - 1),
                      "I": (0, 2 ** 32 - 1), "i": (-(2 ** 31), 2 ** 31 - 1),
                      "q": (-(2 ** 63), 2 ** 63 - 1), "Q": (0, 2 ** 64 - 1)}[fmt]
            strategies = [st.integers(lo, hi), st.sampled_from((lo, hi, 0))]
            if vr in BIG_INTS:
                strategies.append(st.sampled_from(BIG_INTS[vr]))
            out.append(_pack(fmt, ctx.little, draw(st.one_of(strategies))))
    return b"".join(out)


@st.composite
def at_value(draw, ctx: Ctx) -> bytes:
    shape = draw(st.sampled_from(("empty", "one", "many", "odd")))
    if shape == "empty":
        return b""
    if shape == "odd":
        n = draw(st.sampled_from((1, 2, 3, 5, 6, 7, 10)))
        return draw(st.binary(min_size=n, max_size=n))
    count = 1 if shape == "one" else draw(st.integers(2, 4))
    tags = draw(st.lists(st.one_of(st.sampled_from(STANDARD_TAGS), st.integers(0, 2 ** 32 - 1)),
                         min_size=count, max_size=count))
    return b"".join(_pack("HH", ctx.little, t >> 16, t & 0xFFFF) for t in tags)


@st.composite
def bytes_value(draw, vr: str, ctx: Ctx) -> bytes:
    size = draw(st.one_of(st.integers(0, 24), st.sampled_from((1, 3, 255, 256, 257, 300, 511))))
    if size > 64:
        seed = draw(st.binary(min_size=1, max_size=8))
        return (seed * (size // len(seed) + 1))[:size]
    return draw(st.binary(min_size=size, max_size=size))


ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
UID_TEXT = st.text(alphabet="0123456789.", min_size=1, max_size=40)
NAME_TEXT = st.lists(st.text(alphabet="ABCXYZabcxyz -", max_size=6), min_size=1, max_size=5).map(
    "^".join)
JAPANESE = st.text(alphabet="山田太郎やまだたろうヤマダタロウ ^=ABC", min_size=1, max_size=10)
LATIN1 = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                        blacklist_categories=("Cc",)), min_size=1, max_size=12)
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                  max_size=12)
UNDECODABLE = st.sampled_from((b"\xff\xfe", b"\x80", b"abc\xc3", b"\xe9t\xe9", b"\x1b$B\x80\x81",
                               b"\x1b$B;3", b"\x1b(Zx", b"\xed\xa0\x80", b"\x1b$)C\xb1\xe8"))


@st.composite
def _charset_text(draw, ctx: Ctx) -> bytes:
    codec = CHARSETS.get(ctx.charset)
    if codec == "utf-8":
        return draw(UNICODE).encode("utf-8")
    if codec == "latin-1":
        return draw(LATIN1).encode("latin-1")
    if codec == "iso2022_jp":
        return draw(JAPANESE).encode("iso2022_jp")
    # default repertoire: ASCII, or Latin-1 bytes (read leniently)
    return draw(st.one_of(ASCII_TEXT, LATIN1)).encode("latin-1")


@st.composite
def text_value(draw, vr: str, ctx: Ctx) -> bytes:
    kinds = ["empty", "ascii", "ascii", "multi", "pad"]
    if vr in CHARSET_VRS:
        kinds += ["charset", "charset"]
    kinds.append("undecodable")
    kinds.append("max")
    kind = draw(st.sampled_from(kinds))
    pad = b"\x00" if vr == "UI" else b" "
    if kind == "empty":
        return b""
    if kind == "max":
        # the longest value a short explicit header can hold, and one less
        size = draw(st.sampled_from((0xFFFF, 0xFFFE)))
        fill = draw(st.sampled_from((b"A", b"1", b"A\\B")))
        core = (fill * size)[:size]
        if size % 2 == 0 and draw(st.booleans()):
            core = core[:-2] + pad + pad
        return core
    if kind == "undecodable":
        core = draw(UNDECODABLE)
        if vr in CHARSET_VRS:
            core = draw(st.sampled_from((b"", b"A"))) + core
        return core + (pad if len(core) % 2 else b"")
    if kind == "charset":
        core = draw(_charset_text(ctx))
    elif vr == "UI":
        core = draw(UID_TEXT).encode("ascii")
    elif vr == "PN":
        core = draw(NAME_TEXT).encode("ascii")
    else:
        core = draw(ASCII_TEXT).encode("ascii")
    if kind == "multi":
        parts = [core] + [draw(ASCII_TEXT).encode("ascii") for _ in range(draw(st.integers(1, 3)))]
        core = b"\\".join(parts)
    padding = draw(st.sampled_from(("canonical", "canonical", "none", "nul", "spaces", "mixed",
                                    "leading")))
    if padding == "canonical":
        return core + (pad if len(core) % 2 else b"")
    if padding == "none":
        return core
    if padding == "nul":
        return core + b"\x00" * draw(st.integers(1, 3))
    if padding == "spaces":
        return core + b" " * draw(st.integers(1, 4))
    if padding == "mixed":
        return core + draw(st.sampled_from((b" \x00", b"\x00 ", b"  \x00", b"\x00\x00 ")))
    return b" " * draw(st.integers(1, 2)) + core


def value_for(vr: str, ctx: Ctx):
    if vr in TEXT_VRS:
        return text_value(vr, ctx)
    if vr in NUMBERS:
        return number_value(vr, ctx)
    if vr == "AT":
        return at_value(ctx)
    return bytes_value(vr, ctx)


def _avoid_item_tag(value: bytes) -> bytes:
    """An implicit VR UN value that starts with an item tag is read as a
    sequence: change its first byte."""
    if len(value) >= 8 and value[:4] == ITEM_TAG_LE:
        return b"\x00" + value[1:]
    return value


# -- elements, sequences, fragments -----------------------------------------------

RAW_VRS = st.tuples(st.integers(65, 90), st.integers(65, 90)).map(bytes).filter(
    lambda b: b.decode("ascii") not in ALL_VRS)


@st.composite
def element_node(draw, ctx: Ctx, tag: int, vr: Optional[str] = None):
    raw_vr = None
    reserved = 0
    if not ctx.explicit:
        vr = implicit_vr(tag)
    elif tag in SOP_UIDS and "sop_uid_not_text" in ctx.exclude:
        vr = "UI"
    else:
        if vr is None:
            entry = lookup(tag)
            choices = list(entry.vrs) if entry is not None and entry.vrs else []
            choices = [v for v in choices if v != "SQ"]
            if choices and draw(st.integers(0, 4)):
                vr = draw(st.sampled_from(choices))
            else:
                vr = draw(st.sampled_from([v for v in ALL_VRS if v != "SQ"]))
        if draw(st.integers(0, 19)) == 0:
            raw_vr = draw(RAW_VRS)
        if (raw_vr is not None or vr in LONG_VRS) and draw(st.integers(0, 9)) == 0:
            reserved = draw(st.integers(1, 0xFFFF))
    value = draw(value_for(vr if raw_vr is None else "UN", ctx))
    if raw_vr is not None:
        vr = "UN"
    if not ctx.explicit and vr == "UN":
        value = _avoid_item_tag(value)
    return ("el", tag, vr, value, raw_vr, reserved)


@st.composite
def item(draw, ctx: Ctx):
    undefined = draw(st.booleans())
    inner = ctx
    nodes = []
    if draw(st.integers(0, 7)) == 0:
        # the item declares its own character set
        term = draw(st.sampled_from(list(CHARSETS)))
        if term is not None:
            inner = ctx._replace(charset=term)
            nodes.append(("el", SPECIFIC_CHARACTER_SET, "CS", _cs_value(term), None, 0))
    nodes += draw(data_set_nodes(inner))
    nodes = _order(draw, nodes, inner, has_charset=len(nodes) > 0 and inner is not ctx)
    delimiter = draw(st.sampled_from((0,) * 9 + (1,))) * draw(st.integers(1, 2 ** 32 - 1)) \
        if undefined else 0
    return (undefined, nodes, delimiter)


@st.composite
def sequence_node(draw, ctx: Ctx, tag: int):
    """A sequence at ``tag``: SQ, or (explicit VR) UN of undefined length."""
    reserved = 0
    standard_sq = vr_of(tag) == "SQ"
    if ctx.explicit:
        vr = "UN" if draw(st.integers(0, 5)) == 0 else "SQ"
        undefined = True if vr == "UN" else draw(st.booleans())
        if draw(st.integers(0, 9)) == 0:
            reserved = draw(st.integers(1, 0xFFFF))
    else:
        vr = "SQ"
        # a defined-length sequence the dictionary does not know is found by
        # its first item tag, read little endian: not in implicit VR BE
        undefined = draw(st.booleans()) if standard_sq or ctx.little else True
    inner = ctx._replace(depth=ctx.depth - 1)
    if vr == "UN":
        inner = inner._replace(explicit=False, little=True)
    min_items = 0
    if not ctx.explicit and not standard_sq and not undefined:
        min_items = 1   # an empty defined-length private sequence is a UN element
    items = draw(st.lists(item(inner), min_size=min_items, max_size=3))
    end = 0
    if undefined and draw(st.integers(0, 9)) == 0:
        end = draw(st.integers(1, 2 ** 32 - 1))
    return ("seq", tag, vr, undefined, items, end, reserved)


@st.composite
def fragments_node(draw, ctx: Ctx, tag: int):
    raw_vr = None
    reserved = 0
    if ctx.explicit:
        vr = draw(st.sampled_from(("OB", "OB", "OW")))
        if draw(st.integers(0, 9)) == 0 and "raw_vr_fragments" not in ctx.exclude:
            raw_vr = draw(RAW_VRS)
            vr = "UN"
        if draw(st.integers(0, 9)) == 0:
            reserved = draw(st.integers(1, 0xFFFF))
    else:
        vr = "OB"
    bot_kind = draw(st.sampled_from(("none", "empty", "empty", "offsets", "odd")))
    fragments = []
    if bot_kind == "none":
        bot = None
    else:
        fragments = draw(st.lists(st.one_of(
            st.binary(max_size=20),
            st.integers(255, 400).map(lambda n: (bytes(range(256)) * 2)[:n])), max_size=4))
        if bot_kind == "empty":
            bot = b""
        elif bot_kind == "odd":
            bot = draw(st.binary(min_size=1, max_size=11).filter(lambda b: len(b) % 4))
        else:
            # the offsets of the first fragment of each "frame", or random ones
            starts, pos = [], 0
            for frag in fragments:
                starts.append(pos)
                pos += 8 + len(frag)
            if starts and draw(st.booleans()):
                chosen = sorted(set(draw(st.lists(st.sampled_from(starts), min_size=1))) | {0})
            else:
                chosen = draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=1, max_size=4))
            bot = b"".join(_pack("I", ctx.little, x) for x in chosen)
    end = draw(st.integers(1, 2 ** 32 - 1)) if draw(st.integers(0, 14)) == 0 else 0
    return ("frag", tag, vr, bot, fragments, end, raw_vr, reserved)


@st.composite
def private_block(draw, ctx: Ctx):
    group = draw(st.one_of(st.sampled_from(PRIVATE_GROUPS),
                           st.integers(0x0004, 0x7FFE).map(lambda g: 2 * g + 1)))
    block = draw(st.integers(0x10, 0xFF))
    creator = draw(st.sampled_from((b"ACME 1.0", b"SIEMENS CSA HEADER", b"GEMS_IDEN_01",
                                    b"X", b"Odd creator", b"PADDED  \x00")))
    creator_vr = "LO" if not ctx.explicit or draw(st.integers(0, 9)) else draw(
        st.sampled_from(("LO", "UN", "SH", "CS")))
    nodes = [("el", (group << 16) | block, creator_vr, creator, None, 0)]
    offsets = draw(st.lists(st.integers(0, 0xFF), min_size=1, max_size=4, unique=True))
    for off in offsets:
        tag = (group << 16) | (block << 8) | off
        what = draw(st.sampled_from(("el",) * 5 + (("seq", "seq") if ctx.depth > 0 else ())
                                    + (("frag",) if ctx.explicit else ())))
        if what == "seq":
            nodes.append(draw(sequence_node(ctx, tag)))
        elif what == "frag":
            nodes.append(draw(fragments_node(ctx, tag)))
        else:
            nodes.append(draw(element_node(ctx, tag)))
    return nodes


def _unknown_tag(low_groups: bool):
    groups = UNKNOWN_GROUPS + (LOW_GROUPS if low_groups else ())
    return st.tuples(st.sampled_from(groups), st.integers(1, 0xFFFF)).map(
        lambda ge: (ge[0] << 16) | ge[1]).filter(_is_unknown)


@st.composite
def data_set_nodes(draw, ctx: Ctx, low_groups: bool = False):
    """The elements of one data set (before ordering)."""
    nodes = []
    count = draw(st.integers(0, 5))
    kinds = ["std", "std", "std", "unknown", "private", "grouplength"]
    if ctx.depth > 0:
        kinds += ["seq", "seq"]
    kinds.append("frag")
    for _ in range(count):
        kind = draw(st.sampled_from(kinds))
        if kind == "std":
            tag = draw(st.sampled_from(STANDARD_TAGS))
            nodes.append(draw(element_node(ctx, tag)))
        elif kind == "unknown":
            tag = draw(_unknown_tag(low_groups))
            if ctx.depth > 0 and draw(st.integers(0, 3)) == 0:
                nodes.append(draw(sequence_node(ctx, tag)))
            else:
                nodes.append(draw(element_node(ctx, tag)))
        elif kind == "grouplength":
            group = draw(st.sampled_from((0x0008, 0x0010, 0x0020, 0x0028, 0x0009, 0x7FE0)))
            nodes.append(("el", group << 16, "UL", _pack("I", ctx.little, draw(
                st.integers(0, 2 ** 32 - 1))), None, 0))
        elif kind == "private":
            nodes += draw(private_block(ctx))
        elif kind == "seq":
            tag = draw(st.sampled_from(SQ_TAGS))
            nodes.append(draw(sequence_node(ctx, tag)))
        else:  # encapsulated data
            if ctx.explicit:
                tag = draw(st.sampled_from((PIXEL_DATA, PIXEL_DATA) + tuple(OB_OW_TAGS[:4])))
            else:
                tag = draw(st.sampled_from((PIXEL_DATA,) + tuple(OB_OW_TAGS[:4])))
            nodes.append(draw(fragments_node(ctx, tag)))
    return nodes


def _charset_sensitive(node) -> bool:
    return node[0] == "seq" or (node[0] == "el" and node[2] in CHARSET_VRS)


def _order(draw, nodes: list, ctx: Ctx, has_charset: bool = False) -> list:
    """Sort (the usual case, tags made unique), shuffle, or repeat a tag."""
    mode = draw(st.sampled_from(("sorted",) * 6 + ("shuffled", "repeated")))
    if mode == "sorted" or len(nodes) < 2 and mode == "shuffled":
        seen, out = set(), []
        for node in sorted(nodes, key=node_tag):
            if node_tag(node) not in seen:
                seen.add(node_tag(node))
                out.append(node)
        return _charset_first(out, ctx, has_charset)
    out = list(nodes)
    if mode == "repeated" and out:
        node = draw(st.sampled_from(out))
        copy = node
        if node[0] == "el" and draw(st.booleans()):
            copy = draw(element_node(ctx, node[1], node[2] if node[4] is None else None))
        out.insert(draw(st.integers(0, len(out))), copy)
    out = draw(st.permutations(out))
    return _charset_first(list(out), ctx, has_charset)


def _charset_first(nodes: list, ctx: Ctx, has_charset: bool) -> list:
    if "charset_out_of_order" in ctx.exclude and has_charset:
        # The Specific Character Set applies from where it stands: keep it
        # before anything it applies to, in the file and in tag order.
        scs = [n for n in nodes if node_tag(n) == SPECIFIC_CHARACTER_SET]
        nodes = scs + [n for n in nodes if node_tag(n) != SPECIFIC_CHARACTER_SET and not (
            node_tag(n) < SPECIFIC_CHARACTER_SET and _charset_sensitive(n))]
    return nodes


def _cs_value(term: str) -> bytes:
    data = term.encode("ascii")
    return data + b" " if len(data) % 2 else data


def _with_head(nodes: list, ctx: Ctx, head_value: bytes) -> list:
    """Make the first element one the reader can detect the encoding from."""
    def usable(node) -> bool:
        return node_tag(node) >> 16 == 0x0008 and not (
            node[0] == "el" and node[4] is not None or node[0] == "frag" and node[6])

    if nodes and usable(nodes[0]):
        return nodes
    heads = [n for n in nodes if node_tag(n) == 0x00080000 and usable(n)]
    if heads:
        return heads[:1] + [n for n in nodes if n is not heads[0]]
    return [("el", 0x00080000, "UL", head_value, None, 0)] + nodes


# -- events -------------------------------------------------------------------------

def node_events(node, out: list) -> None:
    kind = node[0]
    if kind == "el":
        _, tag, vr, value, raw_vr, reserved = node
        out.append(Element(tag, vr, len(value), 0, value, raw_vr, reserved))
    elif kind == "seq":
        _, tag, vr, undefined, items, end, reserved = node
        out.append(SequenceStart(tag, vr, UNDEFINED if undefined else None, 0, None, reserved))
        for iundef, nodes, delim in items:
            out.append(ItemStart(0, UNDEFINED if iundef else None))
            for child in nodes:
                node_events(child, out)
            out.append(ItemEnd(0, iundef, delim))
        out.append(SequenceEnd(0, undefined, end))
    else:
        _, tag, vr, bot, fragments, end, raw_vr, reserved = node
        out.append(FragmentsStart(tag, vr, 0, raw_vr, reserved))
        if bot is not None:
            out.append(Fragment(0, len(bot), bot))
            for frag in fragments:
                out.append(Fragment(0, len(frag), frag))
        out.append(FragmentsEnd(0, end))


def _has(node, kind: str) -> bool:
    if node[0] == kind:
        return True
    if node[0] == "seq":
        return any(_has(child, kind) for _, nodes, _ in node[4] for child in nodes)
    return False


class Sample(NamedTuple):
    events: list
    data: bytes
    has_fragments: bool   # holds encapsulated data
    description: str


def _meta_size(elements: list, explicit: bool) -> int:
    size = 0
    for tag, vr, value in elements:
        size += (12 if explicit and vr in LONG_VRS else 8) + len(value)
    return size


def _ui(uid: str, style: str) -> bytes:
    data = uid.encode("ascii")
    if len(data) % 2 == 0 or style == "none":
        return data
    return data + (b" " if style == "space" else b"\x00")


@st.composite
def p10_samples(draw, exclude: frozenset = frozenset()) -> Sample:
    """A random P10 file: its events and its bytes."""
    exclude = frozenset(exclude) | KNOWN_BUGS
    unknown = exclude - EXCLUDABLE
    assert not unknown, f"unknown constructs {sorted(unknown)}"
    desc = []
    preamble = draw(st.sampled_from(("zero", "zero", "random", "none")))
    preamble_data = {"zero": bytes(128), "none": None}.get(preamble)
    if preamble == "random":
        preamble_data = draw(st.binary(min_size=128, max_size=128).filter(any))
    has_meta = draw(st.sampled_from((True, True, True, False)))
    declared = None
    meta_events: list = []
    encodings = {"implicit": (False, True), "explicit-le": (True, True),
                 "explicit-be": (True, False), "implicit-be": (False, False)}
    native = {IMPLICIT_LE: "implicit", EXPLICIT_LE: "explicit-le", EXPLICIT_BE: "explicit-be",
              DEFLATED_LE: "explicit-le", JPEG_BASELINE: "explicit-le", RLE_LOSSLESS: "explicit-le",
              UNKNOWN_UID: "explicit-le"}
    # A wrong declaration the reader corrects: explicit vs implicit VR (it
    # trusts the declared byte order).
    wrong = {"implicit": "explicit-le", "explicit-le": "implicit", "explicit-be": "implicit-be"}
    guessed = ("implicit", "explicit-le", "explicit-be")   # without a declared syntax
    deflated = False
    mismatch = False
    if has_meta:
        ts = draw(st.sampled_from((IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE,
                                   JPEG_BASELINE, RLE_LOSSLESS, UNKNOWN_UID, None)))
        declared = ts
        deflated = ts == DEFLATED_LE
        encoding = native.get(ts) or draw(st.sampled_from(guessed))
        if ts is not None and not deflated and draw(st.integers(0, 6)) == 0:
            mismatch = True
            encoding = wrong[encoding]
    else:
        encoding = draw(st.sampled_from(guessed))
    explicit, little = encodings[encoding]
    charset = draw(st.sampled_from(list(CHARSETS)))
    ctx = Ctx(explicit, little, charset, draw(st.integers(0, 3)), exclude)

    # the data set
    nodes = draw(data_set_nodes(ctx, low_groups=True))
    if charset is not None:
        nodes.append(("el", SPECIFIC_CHARACTER_SET, "CS", _cs_value(charset), None, 0))
    ordered = _order(draw, nodes, ctx, has_charset=charset is not None)
    if ordered and [node_tag(n) for n in ordered] == sorted(node_tag(n) for n in ordered):
        # ascending: keep tags below group 0008 out, so that the head stays first
        ordered = [n for n in ordered if node_tag(n) >> 16 >= 0x0008]
    if ordered or not has_meta:
        # (without a meta group the data set must have an element)
        ordered = _with_head(ordered, ctx, _pack("I", little, draw(st.integers(0, 2 ** 32 - 1))))
    else:
        # an empty data set is read in the declared encoding
        encoding = native.get(declared, "implicit")
        explicit, little = encodings[encoding]
        mismatch = False
    body: list = []
    for node in ordered:
        node_events(node, body)

    # the file meta group
    if has_meta:
        meta_explicit = draw(st.sampled_from((True, True, True, False)))
        style = draw(st.sampled_from(("nul", "nul", "space", "none")))
        elements = []
        if draw(st.booleans()):
            elements.append((0x00020001, "OB", b"\x00\x01"))
        elements.append((0x00020002, "UI", _ui("1.2.840.10008.5.1.4.1.1.7", style)))
        elements.append((0x00020003, "UI", _ui(draw(UID_TEXT), style)))
        if declared is not None:
            elements.append((0x00020010, "UI", _ui(declared, style)))
        elements.append((0x00020012, "UI", _ui("1.2.826.0.1.3680043.9.1", style)))
        if draw(st.booleans()):
            elements.append((0x00020013, "SH", b"DICOM2ION_T "))
        if draw(st.integers(0, 4)) == 0:
            elements.append((0x00020102, "OB", draw(st.binary(max_size=9))))
        if draw(st.integers(0, 4)):
            # (a group length that does not add up is damage: tests/test_damaged.py)
            size = _meta_size(elements, meta_explicit)
            elements.insert(0, (0x00020000, "UL", struct.pack("<I", size)))
        if draw(st.integers(0, 9)) == 0 and len(elements) > 1:
            elements = list(draw(st.permutations(elements)))
        meta_events.append(FileMetaStart(0, meta_explicit, True))
        for tag, vr, value in elements:
            meta_events.append(Element(tag, vr, len(value), 0, value))
        desc.append(f"meta {'explicit' if meta_explicit else 'implicit'} ts={declared}")
    ts_seen = declared

    # after the data set
    trailing = []
    kind = draw(st.sampled_from(("none",) * 6 + ("short", "long")))
    if kind == "short":
        last = _last_top_level_tag(meta_events + body)
        trailing.append(Trailing(0, draw(st.binary(min_size=1, max_size=7).filter(
            lambda b: b[:2] != b"\x02\x00" and not wire.cut_header(b, little, explicit, last)))))
    elif kind == "long" and explicit and ordered:
        head = draw(st.binary(min_size=8, max_size=30))
        vr_bytes = head[4:6]
        if 65 <= vr_bytes[0] <= 90 and 65 <= vr_bytes[1] <= 90:
            head = head[:4] + b"\x00" + head[5:]
        if head[:2] in (b"\xfe\xff", b"\xff\xfe", b"\x02\x00"):
            head = b"\x00" + head[1:]
        trailing.append(Trailing(0, head))
    events: list = [Preamble(preamble_data)] + meta_events
    events.append(DataSetStart(0, ts_seen, explicit, little, deflated))
    events += body + trailing
    if deflated:
        level = draw(st.integers(0, 9))
        events.append(DeflateInfo(0, 0, level, 0, ""))
        if draw(st.integers(0, 4)) == 0:
            events.append(Trailing(0, draw(st.binary(min_size=1, max_size=12))))
        desc.append(f"deflate level {level}")
    events.append(End(0))
    data = write_events(events)
    if preamble_data is None:
        assume(data[128:132] != b"DICM")
    desc.append(f"{encoding} charset={charset} mismatch={mismatch} preamble={preamble} "
                f"trailing={kind}")
    return Sample(events, data, any(_has(n, "frag") for n in ordered), "; ".join(desc))


# --------------------------------------------------------------------------
# the sanity check

def comparable(events) -> list:
    """Events with offsets, measured lengths and the deflate details blanked:
    what a generated list and the re-read events must agree on."""
    out = []
    for e in events:
        kind = type(e)
        if kind in (SequenceStart, ItemStart):
            e = e._replace(offset=0, length=UNDEFINED if e.length == UNDEFINED else None)
        elif kind is DeflateInfo:
            e = DeflateInfo(0, 0, None, 0, "")
        elif hasattr(e, "offset"):
            e = e._replace(offset=0)
        out.append(e)
    return out


def reread_mismatch(sample: Sample, **reader_options) -> Optional[str]:
    """None when ``sample.data`` re-reads to ``sample.events`` (modulo offsets,
    measured lengths and the deflate level), else where they first differ."""
    try:
        got = comparable(iter_events(sample.data, **reader_options))
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        return f"reading failed: {exc!r}"
    want = comparable(sample.events)
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return f"event {i}: generated {a!r}, read {b!r}"
    if len(want) != len(got):
        return f"generated {len(want)} events, read {len(got)}"
    return None


def _last_top_level_tag(events) -> int:
    """The tag of the last element, sequence or encapsulated value at the top
    level (the reader's measure for a cut header), or -1."""
    depth, last = 0, -1
    for event in events:
        kind = type(event)
        if depth == 0 and kind in (Element, SequenceStart, FragmentsStart):
            last = event.tag
        if kind in (SequenceStart, ItemStart, FragmentsStart):
            depth += 1
        elif kind in (SequenceEnd, ItemEnd, FragmentsEnd):
            depth -= 1
    return last
