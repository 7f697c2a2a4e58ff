"""Loading a binary Ion document that holds large blobs, with one copy of
each blob in memory.

amazon.ion's C reader reads a blob into a buffer of its own and then copies
it into the Python value (and an annotated value, ``IonPyBytes``, once
more), so a 200 MB blob is in memory twice. Here the document is walked by
its length headers (``binary_walk``): every value shorter than ``LARGE``
is decoded by amazon.ion, many in one call; each longer blob is read from
the file straight into its final object (``inplace``); the large structs
and lists around them are assembled as amazon.ion would (``IonPyDict`` with
repeated names kept, a bare ``list``, ``IonPyList``/``IonPyBytes`` with
``SymbolToken`` annotations), so the result equals amazon.ion's load, type
for type. Anything else raises ``Unsupported``: the caller loads in full.
"""

from __future__ import annotations

import os

from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyBytes, IonPyDict, IonPyList
from amazon.ion.symbols import SymbolToken

from ..errors import IonDocumentError
from . import inplace
from .binary_walk import ANNOTATION, BLOB, LIST, STRUCT, Unsupported, Walker, value_span, var_uint

# Values at least this long are walked (containers) or read directly (blobs).
LARGE = 1 << 16
_BATCH = 8 << 20          # bytes of small values decoded per call into amazon.ion
_MAX_DEPTH = 64           # large containers nested deeper: loaded in full


def load(fp, *, large: int = LARGE) -> object:
    """The document in ``fp`` (a seekable binary file), as amazon.ion loads
    it (``MAY_BE_BARE``, nulls normalised). Raises ``Unsupported`` for what
    the walk does not handle and ``IonDocumentError`` for damaged Ion."""
    walker = Walker(fp)
    start, end = walker.document()
    if end != fp.seek(0, os.SEEK_END):
        raise Unsupported("values after the top-level struct")
    loader = _Loader(walker, large)
    plan = loader.struct(start, end, (), 0)
    loader.flush()
    return loader.build(plan)


class _Loader:
    """Plans the document (nodes: ``("span", index)`` for a value decoded in
    a batch, ``("value", obj)``, ``("struct"|"list", annotations, children)``),
    then builds it once every batch is decoded."""

    def __init__(self, walker: Walker, large: int):
        self.walker = walker
        self.window = walker.window
        self.large = large
        self.spans: list = []
        self.pending = 0
        self.values: list = []

    # -- planning ------------------------------------------------------------------
    def value(self, pos: int, end: int, kind: int, body: int, depth: int):
        if end - pos < self.large:
            return self.span(pos, end)
        if depth >= _MAX_DEPTH:
            raise Unsupported("large containers nested too deep")
        if kind == BLOB:
            return ("value", self.blob(bytes, body, end, ()))
        if kind == STRUCT:
            return self.struct(body, end, None, depth + 1)
        if kind == LIST:
            return self.list(body, end, None, depth + 1)
        if kind == ANNOTATION:
            return self.annotated(pos, body, end, depth)
        if kind in (-1, 0) and self.window.get(pos, 1) != b"\x0f":      # (not null.null)
            raise Unsupported("padding or a version marker inside a container")
        return self.span(pos, end)        # a long string, clob, ...: amazon.ion decodes it

    def span(self, pos: int, end: int):
        self.spans.append((pos, end))
        self.pending += end - pos
        node = ("span", len(self.values) + len(self.spans) - 1)
        if self.pending >= _BATCH:
            self.flush()
        return node

    def flush(self) -> None:
        self.values.extend(self.walker.decode(self.spans))
        self.spans, self.pending = [], 0

    def struct(self, body: int, end: int, annotations, depth: int):
        fields = [(name, self.value(vpos, vend, kind, vbody, depth))
                  for name, vpos, vend, (kind, vbody, _) in self.walker.fields(body, end)]
        return ("struct", annotations, fields)

    def list(self, body: int, end: int, annotations, depth: int):
        items = [self.value(pos, vend, kind, vbody, depth)
                 for pos, vend, kind, vbody in self.walker.items(body, end)]
        return ("list", annotations, items)

    def annotated(self, pos: int, body: int, end: int, depth: int):
        window = self.window
        length, apos = var_uint(window, body)
        vpos = apos + length
        texts = []
        while apos < vpos:
            sid, apos = var_uint(window, apos)
            texts.append(SymbolToken(self.walker.name(sid), None, None))
        if apos != vpos or vpos >= end:
            raise IonDocumentError(f"the annotations at byte {pos} do not fit their wrapper")
        kind, vbody, vend = value_span(window, vpos)
        if vend != end:
            raise IonDocumentError(f"the annotated value at byte {pos} does not fill "
                                   f"its wrapper")
        annotations = tuple(texts)
        if kind == BLOB:
            return ("value", self.blob(IonPyBytes, vbody, vend, annotations))
        if kind == STRUCT:
            return self.struct(vbody, vend, annotations, depth + 1)
        if kind == LIST:
            return self.list(vbody, vend, annotations, depth + 1)
        return self.span(pos, end)

    def blob(self, cls, body: int, end: int, annotations):
        """A blob's bytes read once, into the object that holds them."""
        size = end - body
        fp = self.window.fp
        made = inplace.allocate(cls, size) if cls is not bytes else None
        if made is None:
            data = self.window.read(body, size)
            if len(data) != size:
                raise IonDocumentError(f"the document is cut inside a blob at byte {body}")
            value = data if cls is bytes else cls(data)
        else:
            value, view = made
            fp.seek(body)
            got = 0
            while got < size:
                n = fp.readinto(view[got:])
                if not n:
                    raise IonDocumentError(f"the document is cut inside a blob at byte {body}")
                got += n
            view.release()
        if cls is not bytes:
            value.ion_type = IonType.BLOB
            value.ion_annotations = annotations
        return value

    # -- building ------------------------------------------------------------------
    def build(self, node):
        kind = node[0]
        if kind == "span":
            return self.values[node[1]]
        if kind == "value":
            return node[1]
        annotations, children = node[1], node[2]
        if kind == "struct":
            out = IonPyDict()
            out.ion_type = IonType.STRUCT
            out.ion_annotations = annotations or ()
            for name, child in children:
                out.add_item(name, self.build(child))
            return out
        items = [self.build(child) for child in children]
        if annotations is None:
            return items
        out = IonPyList(items)
        out.ion_type = IonType.LIST
        out.ion_annotations = annotations
        return out
