"""The top level of the Ion document (see SCHEMA.md)."""

from __future__ import annotations

import datetime
from typing import Optional

from .._version import __version__

SCHEMA_VERSION = "1.1"


def build(visitor, *, sha256: str, size: int, source_info: Optional[dict],
          reproducible: bool = False) -> dict:
    """Assemble the document from a finished IonVisitor. ``reproducible``
    leaves out ``fileInfo.createdAt``, so the same input gives the same bytes."""
    doc = {"schemaVersion": SCHEMA_VERSION}
    if source_info:
        doc["sourceInfo"] = {k: v for k, v in source_info.items() if v is not None}
    options = visitor.limits.options()
    options["dataDictionary"] = dictionary = visitor.dictionary.options()
    if visitor.keywords:
        dictionary["keywords"] = dict(sorted(visitor.keywords.items()))
    doc["options"] = options
    file_info = {"sha256": sha256, "size": size}
    if visitor.transfer_syntax is not None:
        file_info["transferSyntaxUID"] = visitor.transfer_syntax
    if visitor.encoding is not None:
        file_info["encoding"] = visitor.encoding.name
    if not reproducible:
        file_info["createdAt"] = datetime.datetime.now(datetime.timezone.utc)
    file_info["converter"] = {"name": "dicom2ion", "version": __version__}
    doc["fileInfo"] = file_info
    if visitor.damage:
        doc["damage"] = visitor.damage
    doc["dataSet"] = visitor.data_set
    if visitor.wire:
        doc["wire"] = visitor.wire
    return doc
