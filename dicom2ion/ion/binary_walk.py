"""Walking a binary Ion document value by value, by its length headers.

Binary Ion gives every value's length in its header (type descriptor, then
a VarUInt length when it does not fit the low nibble), so a reader can step
over a value without decoding it, or read a blob's bytes straight from the
file. ``Walker`` does that through one buffered ``Window`` on a seekable
file, keeps the stream's local symbol tables (their text and their bytes),
and decodes chosen spans with amazon.ion (its C extension), prefixed with
the version marker and those tables so that their symbols resolve.
``header`` writes the same headers. Used by ``shallow`` (a few fields of a
document), ``load_large`` and ``dump_large`` (documents with large blobs).
"""

from __future__ import annotations

import os

from amazon.ion import simpleion

from ..errors import IonDocumentError
from .null import normalise

BVM = b"\xe0\x01\x00\xea"
_BARE = simpleion.IonPyValueModel.MAY_BE_BARE
SYSTEM_SYMBOLS = (None, "$ion", "$ion_1_0", "$ion_symbol_table", "name", "version",
                  "imports", "symbols", "max_id", "$ion_shared_symbol_table")
_WINDOW = 1 << 16

# type descriptors' high nibble
BLOB, LIST, SEXP, STRUCT, ANNOTATION = 0xA, 0xB, 0xC, 0xD, 0xE


class Unsupported(Exception):
    """A binary Ion construct this walker does not handle: load in full."""


class Window:
    """Random access to a file through one buffered window."""

    def __init__(self, fp):
        self.fp = fp
        self.start = 0
        self.data = b""

    def get(self, pos: int, n: int) -> bytes:
        end = self.start + len(self.data)
        if pos < self.start or pos + n > end:
            self.fp.seek(pos)
            self.data = self.fp.read(max(n, _WINDOW))
            self.start = pos
        offset = pos - self.start
        return self.data[offset:offset + n]

    def read(self, pos: int, n: int) -> bytes:
        if n > _WINDOW:
            self.fp.seek(pos)
            return self.fp.read(n)
        return self.get(pos, n)


def var_uint(window: Window, pos: int):
    value = 0
    for _ in range(10):
        byte = window.get(pos, 1)
        if not byte:
            raise IonDocumentError("binary Ion ends inside a length")
        b = byte[0]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b & 0x80:
            return value, pos
    raise Unsupported("VarUInt longer than 10 bytes")


def value_span(window: Window, pos: int):
    """(type, body start, end) of the value at ``pos``; type is the high nibble."""
    td = window.get(pos, 1)
    if not td:
        raise IonDocumentError("binary Ion ends inside a value")
    t, low = td[0] >> 4, td[0] & 0x0F
    pos += 1
    if t == 0xE and low == 0 and window.get(pos - 1, 4) == BVM:
        return -1, pos + 3, pos + 3
    if low == 15 or t == 1:
        return t, pos, pos            # a null, or a bool (no body)
    if t == 0xD and low == 1:
        length, pos = var_uint(window, pos)   # ordered struct: the length follows
    elif low == 14:
        length, pos = var_uint(window, pos)
    else:
        length = low
    return t, pos, pos + length


def _var_uint_at(data, pos: int, end: int):
    """(value, position after) of a VarUInt in ``data[pos:end]``, or None."""
    value = 0
    while pos < end:
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b & 0x80:
            return value, pos
        if value >> 70:
            return None
    return None


def nests(data, pos: int, end: int, in_struct: bool = False, depth: int = 0) -> bool:
    """Whether every value in ``data[pos:end]`` (fields of a struct when
    ``in_struct``) ends inside it, the bodies of containers and annotation
    wrappers likewise, to 32 levels."""
    if depth > 32:
        return False
    while pos < end:
        if in_struct:
            while pos < end and not data[pos] & 0x80:    # the field name's VarUInt
                pos += 1
            pos += 1
            if pos >= end:
                return False
        b = data[pos]
        if 0x20 <= b < 0xB0:                             # a scalar: the common case
            low = b & 0x0F
            if low < 14:
                pos += 1 + low                           # (overrunning ends the loop)
                continue
            if low == 14 and pos + 1 < end and data[pos + 1] & 0x80:
                pos += 2 + (data[pos + 1] & 0x7F)        # (a one-byte length)
                continue
        pos += 1
        kind, low = b >> 4, b & 0x0F
        if kind == 0xF:
            return False                                 # (a reserved type)
        if low == 15 or kind == 1:
            continue                                     # a null, a bool: no body
        if kind == 0 and low < 14:
            pos += low                                   # padding
            continue
        if low == 14 or (kind == STRUCT and low == 1):
            found = _var_uint_at(data, pos, end)
            if found is None:
                return False
            length, pos = found
        else:
            length = low
        body_end = pos + length
        if body_end > end:
            return False
        if kind >= LIST:
            if kind == ANNOTATION:
                found = _var_uint_at(data, pos, body_end)  # the annotations' length
                if found is None or found[1] + found[0] >= body_end:
                    return False
                if not nests(data, found[1] + found[0], body_end, False, depth + 1):
                    return False
            elif not nests(data, pos, body_end, kind == STRUCT, depth + 1):
                return False
        pos = body_end
    return pos == end


def check_symbol_tables(fp) -> None:
    """Raise IonDocumentError when a top-level annotated value of the binary
    Ion in seekable ``fp`` (where local symbol tables are) holds a value
    that runs past its container: amazon.ion's C reader (0.15) loops for
    ever on a symbol table like that, where elsewhere it reports the error.
    Only the top-level headers and the annotated values are read; a value
    cut by the end of the input is left to amazon.ion (it reports those)."""
    window = Window(fp)
    size = fp.seek(0, os.SEEK_END)
    pos = 4
    try:
        while pos < size:
            kind, body, end = value_span(window, pos)
            if end > size:
                return
            if kind == ANNOTATION:
                raw = window.read(pos, end - pos)
                if not nests(raw, 0, len(raw)):
                    raise IonDocumentError(
                        f"the annotated top-level value at byte {pos} (a symbol table) "
                        "holds a value that runs past its container")
            pos = max(end, pos + 1)
    except Unsupported:
        return
    finally:
        fp.seek(0)


class Walker:
    """Steps through one binary Ion document (see the module doc)."""

    def __init__(self, fp):
        self.window = Window(fp)
        self.symbols = list(SYSTEM_SYMBOLS)
        self.lst = b""        # the local symbol tables' bytes, as in the stream
        self.top = None

    def name(self, sid: int) -> str:
        if sid >= len(self.symbols) or self.symbols[sid] is None:
            raise Unsupported(f"symbol ${sid} has no text")
        return self.symbols[sid]

    def decode(self, spans: list) -> list:
        """Decode several values at once (one call into amazon.ion)."""
        if not spans:
            return []
        data = BVM + self.lst + b"".join(self.window.read(a, b - a) for a, b in spans)
        try:
            values = simpleion.loads(data, single_value=False, value_model=_BARE)
        except Exception as exc:  # amazon.ion raises many kinds
            raise IonDocumentError(f"a value does not decode: {exc}") from None
        if len(values) != len(spans):
            raise IonDocumentError("the document ends inside a value")
        return [normalise(v) for v in values]

    def _symbol_table(self, start: int, end: int) -> None:
        """A local symbol table struct: its symbols, appended or replacing."""
        raw = self.window.read(start, end - start)
        if not nests(raw, 0, len(raw)):
            raise IonDocumentError("the symbol table holds a value that runs past its "
                                   "container")
        try:
            table = simpleion.loads(BVM + raw, single_value=True, value_model=_BARE)
        except Exception as exc:  # amazon.ion raises many kinds
            raise IonDocumentError(f"the symbol table does not decode: {exc}") from None
        imports = table.get("imports")
        imports_text = getattr(imports, "text", imports)
        if imports_text == "$ion_symbol_table":
            pass
        elif imports is None:
            self.symbols = list(SYSTEM_SYMBOLS)
            self.lst = b""
        else:
            raise Unsupported("shared symbol table imports")
        for symbol in table.get("symbols") or ():
            self.symbols.append(symbol if isinstance(symbol, str) else None)

    def document(self):
        """(start, end) of the top-level struct's fields; ``top`` is then
        where the struct's type descriptor is."""
        window = self.window
        if window.get(0, 4) != BVM:
            raise Unsupported("not binary Ion")
        pos = 4
        while True:
            t, body, end = value_span(window, pos)
            if t == 0xE:     # annotations: a local symbol table, or something else
                annot_len, apos = var_uint(window, body)
                sid, _ = var_uint(window, apos)
                if sid != 3:
                    raise Unsupported("an annotated top-level value")
                it, _, iend = value_span(window, apos + annot_len)
                if it != 0xD:
                    raise Unsupported("a symbol table that is not a struct")
                self._symbol_table(apos + annot_len, iend)
                self.lst += window.read(pos, end - pos)
            elif t == 0xD:
                size = window.fp.seek(0, os.SEEK_END)
                if end > size:
                    raise IonDocumentError(f"the document is cut short: it declares {end} "
                                           f"bytes, the input has {size}")
                self.top = pos
                return body, end
            elif t in (-1, 0):   # another version marker, or padding
                pass
            else:
                raise Unsupported("a top-level value that is not a struct")
            pos = end

    def fields(self, start: int, end: int):
        """(name, value start, value end, (type, body start, field start)) of
        each field of a struct body, padding skipped."""
        window = self.window
        pos = start
        while pos < end:
            sid, vpos = var_uint(window, pos)
            t, body, vend = value_span(window, vpos)
            if vend > end:
                raise IonDocumentError(f"a field at byte {pos} runs past the end of "
                                       f"its struct (byte {end})")
            if t == 0 and sid == 0:         # padding inside a struct
                pos = vend
                continue
            yield self.name(sid), vpos, vend, (t, body, pos)
            pos = vend

    def items(self, start: int, end: int):
        """(value start, value end, type, body start) of each value of a list
        or sexp body, padding skipped."""
        window = self.window
        pos = start
        while pos < end:
            t, body, vend = value_span(window, pos)
            if vend > end:
                raise IonDocumentError(f"a value at byte {pos} runs past the end of "
                                       f"its list (byte {end})")
            if not (t == 0 and window.get(pos, 1) != b"\x0f"):      # (padding)
                yield pos, vend, t, body
            pos = vend


def var_uint_bytes(value: int) -> bytes:
    """A VarUInt: 7 bits a byte, most significant first, the last byte flagged."""
    out = [0x80 | (value & 0x7F)]
    value >>= 7
    while value:
        out.append(value & 0x7F)
        value >>= 7
    return bytes(reversed(out))


def header(kind: int, length: int) -> bytes:
    """The type descriptor (and VarUInt length) of a value of ``kind`` (high
    nibble) whose body is ``length`` bytes; a struct's is never 'sorted'."""
    if length < 14 and not (kind == STRUCT and length == 1):
        return bytes((kind << 4 | length,))
    return bytes((kind << 4 | 14,)) + var_uint_bytes(length)
