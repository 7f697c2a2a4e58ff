"""The exceptions dicom2ion raises."""

from __future__ import annotations

from typing import Optional, Sequence


def format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class Dicom2IonError(Exception):
    """Base class of every error dicom2ion raises on bad input."""


class DicomParseError(Dicom2IonError):
    """P10 bytes that cannot be read: names the file, byte offset and tag path."""

    def __init__(self, message: str, offset: Optional[int] = None,
                 path: Sequence[int] = (), source: Optional[str] = None):
        self.message = message
        self.offset = offset
        self.path = tuple(path)
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.path:
            where.append("tag " + "/".join(format_tag(t) for t in self.path))
        prefix = ": ".join([", ".join(where)]) if where else ""
        return f"{prefix}: {self.message}" if prefix else self.message


class IonDocumentError(Dicom2IonError):
    """An Ion document that does not describe a DICOM file: names the field path."""

    def __init__(self, message: str, path: str = "", source: Optional[str] = None):
        self.message = message
        self.path = path
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.source, self.path and f"field {self.path}") if x)
        return f"{where}: {self.message}" if where else self.message


class DictionaryError(Dicom2IonError, ValueError):
    """A data dictionary file (``--dictionary``) that cannot be read: names
    the file (and the line of a .dic file)."""


class BulkDataError(Dicom2IonError):
    """A referenced value is missing or does not match its sha256."""


class WriteError(Dicom2IonError):
    """Events that cannot be written as P10: names the event and where it stands."""
