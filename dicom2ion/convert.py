"""The Python API: P10 -> Ion document, and Ion document -> P10."""

from __future__ import annotations

import datetime
import io
import os
import stat
from typing import BinaryIO, Optional, Sequence, Union

from . import storage
from .bulk import Resolver, deflate_offset, open_bulk_dir, raw_deflated_from
from .dictionary import load_dictionary
from .errors import Dicom2IonError, IonDocumentError
from .hashing import HashingWriter
from .ion import codec, document as document_mod
from .ion.inline import DEFAULT_INLINE_LIMIT, InlineLimits
from .ion.visitor import IonVisitor
from .outputs import atomic_output
from .p10.source import aiter_events, iter_events, source_name



def _source_info(source) -> Optional[dict]:
    if not isinstance(source, (str, os.PathLike)):
        name = source_name(source)
        if name and os.path.isfile(name):
            return {"uri": storage.file_uri(name)}
        return {"uri": name} if name else None
    return source_info_for(os.fspath(source))


def source_info_for(path: str, st=None) -> dict:
    """The document's ``sourceInfo`` for a file on disk (or on a store);
    ``st``: the file's ``os.stat_result`` when the caller has it."""
    if storage.is_url(path):
        return storage.source_info(path)
    info = {"uri": storage.file_uri(path)}
    if not isinstance(st, os.stat_result):
        try:
            st = os.stat(path)
        except OSError:
            return info
    birth = getattr(st, "st_birthtime", None)
    if birth:
        info["creationDate"] = datetime.datetime.fromtimestamp(birth, datetime.timezone.utc)
    info["modificationDate"] = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc)
    return info


def _visitor(standard_limit: int, private_limit: int, inline_all: bool,
             bulk_dir: Optional[str], dictionary=None, source=None) -> IonVisitor:
    limits = InlineLimits.of(standard_limit, private_limit, inline_all)
    sink = open_bulk_dir(bulk_dir) if bulk_dir is not None else None
    return IonVisitor(limits=limits, bulk_sink=sink,
                      dictionary=load_dictionary(dictionary) if dictionary else None,
                      input_size=_input_size(source) if inline_all else None)


def _input_size(source) -> Optional[int]:
    """The size of a source known before reading it (a path, bytes, a
    regular file or an object naming one), else None."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return memoryview(source).nbytes
    try:
        if isinstance(source, (str, os.PathLike)):
            return os.path.getsize(source)
        fileno = getattr(source, "fileno", None)
        if fileno is not None:
            st = os.fstat(fileno())
            return st.st_size if stat.S_ISREG(st.st_mode) else None
        name = source_name(source)
        return os.path.getsize(name) if name and os.path.isfile(name) else None
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def convert(source, *, source_info: Optional[dict] = None,
            standard_limit: int = DEFAULT_INLINE_LIMIT, private_limit: int = DEFAULT_INLINE_LIMIT,
            inline_all: bool = False, bulk_dir: Optional[str] = None, max_depth: int = 64,
            reproducible: bool = False, dictionary=None, strict: bool = False) -> dict:
    """Convert a P10 source (path, bytes, binary file object or iterable of
    chunks) to the Ion document, a dict.

    A damaged file converts losslessly: what cannot be read is kept as raw
    bytes in place and each problem is listed in the document's ``damage``
    (see SCHEMA.md). ``strict`` refuses damaged input instead. Input that is
    not DICOM at all raises DicomParseError either way. ``reproducible``
    leaves out the conversion time (same input, same bytes).
    A URL (``s3://...``) is read through fsspec.
    ``dictionary``: a path or a list of paths (PS3.6 JSON extract or DocBook
    XML, DCMTK ``.dic``) merged over the built-in dictionary, or a
    ``dicom2ion.dictionary.Dictionary``; the document records it in
    ``options.dataDictionary`` and still needs only the built-in one to be
    read back."""
    if storage.is_url(source):
        with storage.open_read(source) as fp:
            return convert(fp, source_info=source_info or storage.source_info(source),
                           standard_limit=standard_limit, private_limit=private_limit,
                           inline_all=inline_all, bulk_dir=bulk_dir, max_depth=max_depth,
                           reproducible=reproducible, dictionary=dictionary,
                           strict=strict)
    visitor = _visitor(standard_limit, private_limit, inline_all, bulk_dir, dictionary, source)
    stream = iter_events(source, max_depth=max_depth, strict=strict)
    visitor.visit_all(stream)
    info = source_info if source_info is not None else _source_info(source)
    return document_mod.build(visitor, sha256=stream.reader.sha256, size=stream.reader.size,
                              source_info=info, reproducible=reproducible)


async def convert_async(chunks, *, source_info: Optional[dict] = None,
                        standard_limit: int = DEFAULT_INLINE_LIMIT,
                        private_limit: int = DEFAULT_INLINE_LIMIT, inline_all: bool = False,
                        bulk_dir: Optional[str] = None, max_depth: int = 64,
                        dictionary=None, strict: bool = False) -> dict:
    """``convert`` for an async iterable of byte chunks."""
    visitor = _visitor(standard_limit, private_limit, inline_all, bulk_dir, dictionary)
    stream = aiter_events(chunks, max_depth=max_depth, strict=strict)
    async for event in stream:
        visitor.visit(event)
    return document_mod.build(visitor, sha256=stream.reader.sha256, size=stream.reader.size,
                              source_info=source_info)


def dump(document, fp: BinaryIO, *, binary: bool = True, pretty: bool = False) -> None:
    """Write a document as binary Ion, compact text, or pretty text."""
    codec.dump(document, fp, binary=binary, pretty=pretty)


def load(source: Union[str, os.PathLike, bytes], *, fields=None) -> object:
    """Load an Ion document from a path or bytes (binary or text Ion).

    ``fields`` (keywords or tags) loads only those top-level attributes of
    ``dataSet``, plus the top-level sections, skipping the rest of a binary
    document unread (see ``dicom2ion.ion.shallow``)."""
    if fields is not None:
        from .ion.shallow import load_fields
        return load_fields(source, fields)
    if isinstance(source, (bytes, bytearray)):
        return codec.loads(bytes(source))
    if storage.is_url(source):
        return codec.loads(storage.read_bytes(source), source=source)
    return codec.load_path(storage.local(source))


def convert_to(source, out, *, binary: bool = True, pretty: bool = False, **options) -> dict:
    """Convert and write the Ion to ``out`` (a path, written atomically, or a
    binary stream). Returns the document."""
    doc = convert(source, **options)
    if isinstance(out, (str, os.PathLike)):
        with atomic_output(out) as fp:
            dump(doc, fp, binary=binary, pretty=pretty)
    else:
        dump(doc, out, binary=binary, pretty=pretty)
    return doc


# -- Ion -> P10 -------------------------------------------------------------------

def _get(mapping, key):
    if mapping is None or not hasattr(mapping, "get"):
        return None
    return mapping.get(key)


def original_path(document) -> Optional[str]:
    uri = _get(_get(document, "sourceInfo"), "uri")
    if not uri:
        return None
    uri = str(uri)
    if uri.startswith("file:"):
        return storage.file_path(uri)
    return uri


def to_dicom(document, out, *, source: Optional[str] = None,
             bulk_dir: Union[None, str, Sequence[str]] = None, canonical: bool = False,
             transfer_syntax: Optional[str] = None, check: bool = True) -> dict:
    """Rebuild P10 from an Ion document (a dict, or a path/bytes of Ion).

    ``out`` is a path (written atomically) or a binary stream. Bulk values
    come from ``bulk_dir`` or the source file (``source`` or the document's
    ``sourceInfo.uri``) and are checked against their length and sha256. In
    exact mode with ``check``, the output's sha256 must equal
    ``fileInfo.sha256``; that digest then stands for the values' own, which
    are checked one by one only when it differs (to name a wrong one).
    Returns ``{"sha256", "size", "identical"}``.
    """
    if isinstance(document, (str, os.PathLike, bytes, bytearray)):
        document = load(document)
    dirs = [bulk_dir] if isinstance(bulk_dir, (str, os.PathLike)) else list(bulk_dir or ())
    resolver = Resolver(source or original_path(document), dirs, deflate_offset(document),
                        keep_open=True)
    # an exact rebuild checked against fileInfo.sha256 is checked whole: that
    # digest covers every bulk value, read then without a sha256 of its own
    # (one digest over the bytes, not two); a mismatch checks each value
    # (_write), so a wrong one is named as before
    resolver.check_sha256 = not (check and not canonical and
                                 _get(_get(document, "fileInfo"), "sha256") is not None)
    try:
        if isinstance(out, (str, os.PathLike)):
            with atomic_output(out) as fp:
                return _write(document, fp, resolver, canonical, transfer_syntax, check)
        return _write(document, out, resolver, canonical, transfer_syntax, check)
    finally:
        resolver.close()


def _write(document, fp, resolver, canonical, transfer_syntax, check) -> dict:
    from .ion.source import IonSource   # (the way back: not imported to convert)
    from .p10.writer import P10Writer

    size = _get(_get(document, "fileInfo"), "size")
    sink = HashingWriter(fp, int(size) if size is not None and not canonical else None)
    writer = P10Writer(sink, raw_deflated=raw_deflated_from(resolver))
    ion_events = IonSource(document, resolver, canonical=canonical,
                           transfer_syntax=transfer_syntax).batches()
    writer.write_all(ion_events)
    sink.flush()
    digest = sink.hash.hexdigest()
    expected = _get(_get(document, "fileInfo"), "sha256")
    identical = expected is not None and str(expected) == digest
    if check and not canonical and expected is not None and not identical:
        if not resolver.check_sha256:
            # name the bulk value that is wrong, if one is: the same rebuild
            # again, each value checked (it raises BulkDataError), discarded
            resolver.check_sha256 = True
            _write(document, _Discard(), resolver, canonical, transfer_syntax, check)
        raise Dicom2IonError(f"the rebuilt file's sha256 {digest} differs from "
                             f"fileInfo.sha256 {expected}")
    return {"sha256": digest, "size": sink.size, "identical": identical}


class _Discard:
    """A binary stream that keeps nothing."""

    def write(self, data) -> int:
        return len(data)


def to_dicom_bytes(document, **options) -> bytes:
    """``to_dicom`` into memory; returns the P10 bytes."""
    buffer = io.BytesIO()
    to_dicom(document, buffer, **options)
    return buffer.getvalue()


__all__ = ["convert", "convert_async", "convert_to", "dump", "load", "to_dicom",
           "to_dicom_bytes", "atomic_output", "IonDocumentError"]
