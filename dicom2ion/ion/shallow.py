"""Shallow reads: a few top-level attributes of a binary Ion document,
without decoding the rest.

Binary Ion gives every value's length in its header, so the document is
walked header by header and everything not asked for is skipped with a
seek. Each wanted value's bytes are decoded by amazon.ion (its C
extension), prefixed with the stream's version marker and local symbol
table so that its symbols resolve. In documents that dicom2ion wrote,
``dataSet`` fields come in a known order (``ion/order.py``), so the walk
stops as soon as it is past every wanted field; the top-level sections
(``schemaVersion``, ``sourceInfo``, ``options``, ``fileInfo``, ``wire``) are
always read, ``wire`` after a seek over the rest of ``dataSet``.

amazon.ion's own incremental reader cannot do this: its blocking reader
reads every byte it skips through its buffer and a scalar is only delivered
whole, so skipping a 200 MB blob reads 200 MB (``tools/shallow_benchmark.py``
measures both). Text Ion has no lengths: it is loaded whole and filtered.
"""

from __future__ import annotations

import io
import os
from typing import Iterable, Optional

from amazon.ion import simpleion
from amazon.ion.simple_types import IonPyDict

from ..dictionary import keyword_for, tag_for_keyword
from ..errors import IonDocumentError
from .null import normalise
from .order import sort_key

_BVM = b"\xe0\x01\x00\xea"
_BARE = simpleion.IonPyValueModel.MAY_BE_BARE
SYSTEM_SYMBOLS = (None, "$ion", "$ion_1_0", "$ion_symbol_table", "name", "version",
                  "imports", "symbols", "max_id", "$ion_shared_symbol_table")
_WINDOW = 1 << 16


class _Unsupported(Exception):
    """A binary Ion construct this walker does not handle: load in full."""


def wanted_names(fields: Iterable, keywords: Optional[dict] = None) -> set:
    """dataSet field names for keywords, tags (int, "GGGGEEEE", (g, e));
    ``keywords``: the document's own names (``options.dataDictionary.keywords``,
    name -> tag), which win."""
    from ..typed import parse_tag
    keywords = keywords or {}
    own = {tag: name for name, tag in keywords.items()}
    names = set()
    for field in fields:
        tag = parse_tag(field)
        if tag is None and isinstance(field, str):
            tag = keywords.get(field)
            if tag is None:
                tag = tag_for_keyword(field)
        if tag is None:
            raise ValueError(f"unknown attribute {field!r} (use a keyword or a tag)")
        names.add(own.get(tag) or keyword_for(tag) or "%08X" % tag)
    return names


def _document_keywords(doc) -> dict:
    from .source import document_keywords
    return document_keywords(doc)


class _Window:
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


def _var_uint(window: _Window, pos: int):
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
    raise _Unsupported("VarUInt longer than 10 bytes")


def _value_span(window: _Window, pos: int):
    """(type, body start, end) of the value at ``pos``; type is the high nibble."""
    td = window.get(pos, 1)
    if not td:
        raise IonDocumentError("binary Ion ends inside a value")
    t, low = td[0] >> 4, td[0] & 0x0F
    pos += 1
    if t == 0xE and low == 0 and window.get(pos - 1, 4) == _BVM:
        return -1, pos + 3, pos + 3
    if low == 15 or t == 1:
        return t, pos, pos            # a null, or a bool (no body)
    if t == 0xD and low == 1:
        length, pos = _var_uint(window, pos)   # ordered struct: the length follows
    elif low == 14:
        length, pos = _var_uint(window, pos)
    else:
        length = low
    return t, pos, pos + length


class _Walker:
    def __init__(self, fp):
        self.window = _Window(fp)
        self.symbols = list(SYSTEM_SYMBOLS)
        self.lst = b""        # the local symbol tables' bytes, as in the stream

    def name(self, sid: int) -> str:
        if sid >= len(self.symbols) or self.symbols[sid] is None:
            raise _Unsupported(f"symbol ${sid} has no text")
        return self.symbols[sid]

    def decode(self, spans: list) -> list:
        """Decode several values at once (one call into amazon.ion)."""
        if not spans:
            return []
        data = _BVM + self.lst + b"".join(self.window.read(a, b - a) for a, b in spans)
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
        try:
            table = simpleion.loads(_BVM + raw, single_value=True, value_model=_BARE)
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
            raise _Unsupported("shared symbol table imports")
        for symbol in table.get("symbols") or ():
            self.symbols.append(symbol if isinstance(symbol, str) else None)

    def document(self):
        """(start, end) of the top-level struct's fields."""
        window = self.window
        if window.get(0, 4) != _BVM:
            raise _Unsupported("not binary Ion")
        pos = 4
        while True:
            t, body, end = _value_span(window, pos)
            if t == 0xE:     # annotations: a local symbol table, or something else
                annot_len, apos = _var_uint(window, body)
                sid, _ = _var_uint(window, apos)
                if sid != 3:
                    raise _Unsupported("an annotated top-level value")
                it, _, iend = _value_span(window, apos + annot_len)
                if it != 0xD:
                    raise _Unsupported("a symbol table that is not a struct")
                self._symbol_table(apos + annot_len, iend)
                self.lst += window.read(pos, end - pos)
            elif t == 0xD:
                size = window.fp.seek(0, os.SEEK_END)
                if end > size:
                    raise IonDocumentError(f"the document is cut short: it declares {end} "
                                           f"bytes, the input has {size}")
                return body, end
            elif t in (-1, 0):   # another version marker, or padding
                pass
            else:
                raise _Unsupported("a top-level value that is not a struct")
            pos = end

    def fields(self, start: int, end: int):
        """(name, value start, value end) of each field of a struct body."""
        window = self.window
        pos = start
        while pos < end:
            sid, vpos = _var_uint(window, pos)
            t, body, vend = _value_span(window, vpos)
            if t == 0 and sid == 0:         # padding inside a struct
                pos = vend
                continue
            yield self.name(sid), vpos, vend, (t, body)
            pos = vend


def _ordered_by_dicom2ion(file_info) -> bool:
    converter = file_info.get("converter") if hasattr(file_info, "get") else None
    return hasattr(converter, "get") and converter.get("name") == "dicom2ion"


def _sort_key_of(name: str, keywords: Optional[dict] = None):
    tag = keywords.get(name) if keywords else None
    if tag is None:
        tag = tag_for_keyword(name)
    if tag is None:
        tag = int(name, 16)
    return sort_key(tag)


def load_fields(source, fields: Iterable) -> dict:
    """The document with only ``fields`` (keywords or tags) in ``dataSet``.

    ``source`` is a path, bytes or a seekable binary file object.
    """
    fields = list(fields)     # (names are resolved once the document's options are read)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load_fields(io.BytesIO(bytes(source)), fields, "")
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            return _load_fields(fp, fields, str(source))
    return _load_fields(source, fields, getattr(source, "name", "") or "")


def _load_fields(fp, fields: list, label: str) -> dict:
    try:
        return _walk(fp, fields)
    except _Unsupported:
        pass
    except IonDocumentError as exc:
        raise IonDocumentError(f"not a readable Ion document: {exc}", source=label) from None
    fp.seek(0)
    from .codec import loads
    document = loads(fp.read(), source=label)
    return filter_document(document, wanted_names(fields, _document_keywords(document)))


def filter_document(document, names: set) -> dict:
    """A loaded document with only ``names`` kept in its dataSet."""
    out = {str(k): v for k, v in document.items() if k != "dataSet"}
    kept = IonPyDict()
    data_set = document.get("dataSet")
    if hasattr(data_set, "items"):
        items = getattr(data_set, "iteritems", None)
        for name, value in (items() if items is not None else data_set.items()):
            if str(name) in names:
                kept.add_item(str(name), value)
    out["dataSet"] = kept
    return out


def _walk(fp, fields: list) -> dict:
    walker = _Walker(fp)
    start, end = walker.document()
    doc: dict = {}
    top_names, top_spans = [], []
    kept = IonPyDict()
    for name, vstart, vend, _ in walker.fields(start, end):
        if name != "dataSet":
            top_names.append(name)
            top_spans.append((vstart, vend))
            continue
        # the sections before dataSet (fileInfo says who wrote the document)
        for key, value in zip(top_names, walker.decode(top_spans)):
            doc[key] = value
        top_names, top_spans = [], []
        doc["dataSet"] = kept
        keywords = _document_keywords(doc)      # options come before dataSet
        _data_set(walker, vstart, vend, wanted_names(fields, keywords), kept,
                  _ordered_by_dicom2ion(doc.get("fileInfo")), keywords)
    for key, value in zip(top_names, walker.decode(top_spans)):
        doc[key] = value
    if "dataSet" not in doc:
        wanted_names(fields, _document_keywords(doc))      # unknown fields are still errors
        doc["dataSet"] = kept
    return doc


def _data_set(walker: _Walker, vstart: int, vend: int, names: set, kept: IonPyDict,
              ordered: bool, keywords: Optional[dict] = None) -> None:
    t, body, end = _value_span(walker.window, vstart)
    if t != 0xD:
        raise _Unsupported("dataSet is not a plain struct")
    last = (max((_sort_key_of(n, keywords) for n in names), default=None)
            if ordered else None)
    found, spans = [], []
    for name, fstart, fend, _ in walker.fields(body, end):
        if name in names:
            found.append(name)
            spans.append((fstart, fend))
        elif last is not None and _sort_key_of_safe(name, keywords) > last:
            break     # dicom2ion's field order: no wanted field can follow
    for name, value in zip(found, walker.decode(spans)):
        kept.add_item(name, value)


def _sort_key_of_safe(name: str, keywords: Optional[dict] = None) -> Optional[tuple]:
    try:
        return _sort_key_of(name, keywords)
    except ValueError:
        return (-1,)      # not a tag name: never a reason to stop
