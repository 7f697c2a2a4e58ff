"""Shallow reads: a few top-level attributes of a binary Ion document,
without decoding the rest.

The document is walked header by header (``ion/binary_walk.py``) and
everything not asked for is skipped with a seek; each wanted value's bytes
are decoded by amazon.ion. In documents that dicom2ion wrote,
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

from amazon.ion.simple_types import IonPyDict

from ..dictionary import keyword_for, tag_for_keyword
from ..errors import IonDocumentError
from .binary_walk import Unsupported, Walker, value_span
from .order import sort_key


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
    except Unsupported:
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
    walker = Walker(fp)
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


def _data_set(walker: Walker, vstart: int, vend: int, names: set, kept: IonPyDict,
              ordered: bool, keywords: Optional[dict] = None) -> None:
    t, body, end = value_span(walker.window, vstart)
    if t != 0xD:
        raise Unsupported("dataSet is not a plain struct")
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
