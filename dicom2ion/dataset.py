"""A dataset view over an Ion document: values by keyword or tag, typed.

    ds = dicom2ion.read("scan.dcm")          # or an .ion document, bytes, a file
    ds.PatientName, ds["PatientName"], ds[0x00100010], ds["00100010"], ds[(0x10, 0x10)]
    ds.vr("Rows"), ds.keyword(0x00280010), "Rows" in ds, len(ds)
    ds.private("GEMS_IDEN_01", 0x0009, 0x01)
    ds.bulk("PixelData").read(); ds.frames()

Values are typed by :mod:`dicom2ion.typed`; ``ds.raw(tag)`` gives the Ion
value as stored. Referenced values are :class:`BulkValue` objects: nothing
is read until ``read()``, which fetches the bytes from a bulk folder or the
source file and checks them against their sha256.
"""

from __future__ import annotations

import io
import os
import weakref
from typing import Iterator, NamedTuple, Optional

from .bulk import Resolver
from .dictionary import BUILTIN, load_dictionary
from .errors import Dicom2IonError, IonDocumentError
from .ion.source import document_keywords, field_tag
from .ion.visitor import dictionary_vr
from .typed import Tag, is_null, parse_tag, typed

_BVM = b"\xe0\x01\x00\xea"
_PIXEL_DATA = 0x7FE00010


class Element(NamedTuple):
    """One element of a dataset, as iteration yields it."""

    tag: Tag
    keyword: Optional[str]
    vr: str
    value: object


def annotation(value) -> Optional[str]:
    anns = getattr(value, "ion_annotations", None)
    if not anns:
        return None
    return str(getattr(anns[0], "text", anns[0]))


def element_vr(tag: int, value) -> str:
    """The VR of a stored value: its annotation, else what the dictionary
    settles (SQ for a list, OB for encapsulated pixel data), else 'UN'."""
    vr = annotation(value)
    if vr:
        return vr
    vr = dictionary_vr(tag)
    if vr:
        return vr
    if isinstance(value, list):
        return "SQ"
    if hasattr(value, "get") and value.get("encapsulatedPixelData"):
        return "OB"
    entry = BUILTIN.lookup(tag)
    return entry.vr if entry is not None and entry.vr else "UN"


def struct_items(value) -> list:
    """(name, value) pairs of an Ion struct, repeated names included."""
    items = getattr(value, "iteritems", None)
    return list(items()) if items is not None else list(value.items())


class _Context:
    """What every dataset of one document shares: the document, where bulk
    values come from, and the typing options."""

    def __init__(self, document, source: Optional[str], bulk_dirs, decimal: bool,
                 arrays: bool, dictionary=None):
        self.document = document
        self.dictionary = load_dictionary(dictionary) if dictionary else BUILTIN
        self.keywords = document_keywords(document)      # the document's own names
        self.names = {tag: name for name, tag in self.keywords.items()}
        self.decimal = decimal
        self.arrays = arrays
        from .bulk import deflate_offset
        from .convert import original_path
        self.source = source or original_path(document)
        self.bulk_dirs = list(bulk_dirs)
        self.deflate_offset = deflate_offset(document)
        encoding = str((document.get("fileInfo") or {}).get("encoding") or "")
        self.little_endian = not encoding.endswith("-be")
        self._resolver: Optional[Resolver] = None
        wire = document.get("wire")
        order = wire.get("order") if hasattr(wire, "get") else None
        self.orders = {str(k): v for k, v in struct_items(order)} if hasattr(order, "get") else {}

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.source, self.bulk_dirs, self.deflate_offset)
            weakref.finalize(self, self._resolver.close)
        return self._resolver

    def close(self) -> None:
        if self._resolver is not None:
            self._resolver.close()


class BulkValue:
    """A value kept outside the document: ``offset`` (in the P10 stream;
    inflated stream of a deflated file), ``length``, ``sha256``. ``read()``
    returns its bytes as they are in the file (big endian in a big endian
    file), checked against ``sha256``."""

    __slots__ = ("vr", "offset", "length", "sha256", "path", "_context", "_data")

    def __init__(self, vr: str, offset: int, length: int, sha256: str, path: str,
                 context: _Context, data: Optional[bytes] = None):
        self.vr = vr
        self.offset = offset
        self.length = length
        self.sha256 = sha256
        self.path = path
        self._context = context
        self._data = data

    def chunks(self) -> Iterator[bytes]:
        """The bytes in chunks (bounded memory); the digest is checked at the end."""
        if self._data is not None:
            yield self._data
            return
        yield from self._context.resolver(self.offset, self.length, self.sha256, self.path)

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def __repr__(self) -> str:
        return (f"BulkValue({self.vr}, offset={self.offset}, length={self.length}, "
                f"sha256={self.sha256[:12]}...)")


class Dataset:
    """The elements of a data set (the top level or a sequence item)."""

    def __init__(self, struct, context: _Context, path: str = "dataSet", prefix: str = "",
                 parent: Optional["Dataset"] = None):
        self._struct = struct
        self._parent = parent
        self._context = context
        self._path = path
        self._prefix = prefix          # wire path of this data set + "/" ("" at the top)
        self._entries: Optional[list] = None   # [(tag, name, raw)] in file order
        self._by_tag: Optional[dict] = None
        self._cache: dict = {}

    # -- construction ----------------------------------------------------------
    @property
    def document(self):
        """The whole Ion document this dataset belongs to."""
        return self._context.document

    def _index(self) -> dict:
        if self._by_tag is None:
            entries = []
            for name, raw in struct_items(self._struct):
                tag = field_tag(str(name), self._context.keywords)
                if tag is None:
                    raise IonDocumentError(f"unknown keyword {name!r}", f"{self._path}.{name}")
                entries.append((tag, str(name), raw))
            entries = self._file_order(entries)
            by_tag: dict = {}
            for entry in entries:
                by_tag.setdefault(entry[0], []).append(entry)
            self._entries, self._by_tag = entries, by_tag
        return self._by_tag

    def _file_order(self, entries: list) -> list:
        order = self._context.orders.get(self._prefix[:-1])
        if order is None:
            if not self._prefix:     # the top level: the meta group first
                return sorted(entries, key=lambda e: (e[0] >> 16 != 2, e[0]))
            return sorted(entries, key=lambda e: e[0])
        queues: dict = {}
        for entry in entries:
            queues.setdefault(entry[0], []).append(entry)
        out = []
        for hex_tag in order:
            queue = queues.get(int(str(hex_tag), 16))
            if queue:
                out.append(queue.pop(0))
        rest = sorted((e for q in queues.values() for e in q), key=lambda e: e[0])
        return out + rest

    def _tag(self, key) -> int:
        tag = parse_tag(key)
        if tag is None and isinstance(key, str):
            tag = self._keyword_tag(key)
        if tag is None:
            raise KeyError(key)
        return tag

    def _entry(self, key):
        try:
            tag = self._tag(key)
        except KeyError:
            raise KeyError(key) from None
        entries = self._index().get(tag)
        if not entries:
            raise KeyError(key)
        return entries[0]

    # -- mapping ---------------------------------------------------------------
    def __getitem__(self, key):
        tag, name, raw = self._entry(key)
        try:
            return self._cache[tag]
        except KeyError:
            pass
        value = self._typed(tag, name, raw)
        self._cache[tag] = value
        return value

    def __getattr__(self, name: str):
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(name)
        tag = self._keyword_tag(name)
        if tag is None or tag not in self._index():
            raise AttributeError(name)
        return self[tag]

    def _keyword_tag(self, keyword: str) -> Optional[int]:
        context = self._context
        tag = context.keywords.get(keyword)
        return tag if tag is not None else context.dictionary.tag_for_keyword(keyword)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key) -> bool:
        try:
            tag = self._tag(key)
        except KeyError:
            return False
        return tag in self._index()

    def __len__(self) -> int:
        self._index()
        return len(self._entries)

    def __iter__(self) -> Iterator[Element]:
        """Every element in file order (a repeated tag each time)."""
        self._index()
        for index, (tag, name, raw) in enumerate(self._entries):
            first = self._by_tag[tag][0] is self._entries[index]
            value = self[tag] if first else self._typed(tag, name, raw)
            yield Element(Tag(tag), self.keyword(tag), element_vr(tag, raw), value)

    def keys(self) -> list:
        """Tags in file order."""
        self._index()
        return [Tag(e[0]) for e in self._entries]

    def __repr__(self) -> str:
        return f"<Dataset {self._path}: {len(self)} elements>"

    # -- element facts ------------------------------------------------------------
    def raw(self, key):
        """The Ion value as stored in the document."""
        return self._entry(key)[2]

    def vr(self, key) -> str:
        tag, _, raw = self._entry(key)
        return element_vr(tag, raw)

    def keyword(self, key) -> Optional[str]:
        """The standard keyword, or for a private tag the private dictionary's
        keyword under this data set's private creator; None when unknown."""
        tag = self._tag(key)
        if not tag & 0x10000:
            return self._context.dictionary.keyword_for(tag) or self._context.names.get(tag)
        entry = self._private_entry(tag)
        return entry.keyword if entry is not None and entry.keyword else None

    def _private_entry(self, tag: int):
        element = tag & 0xFFFF
        if element < 0x1000:
            return None
        creator = self.get(((tag >> 16) << 16) | (element >> 8))
        if not isinstance(creator, str):
            return None
        return self._context.dictionary.lookup_private(creator, tag >> 16, element & 0xFF)

    def private_tag(self, creator: str, group: int, offset: int) -> Optional[Tag]:
        """The tag of element ``offset`` in the block that ``creator`` reserved in
        ``group`` here, or None when no such block exists."""
        wanted = creator.rstrip(" \x00")
        index = self._index()
        for block in range(0x10, 0x100):
            entries = index.get((group << 16) | block)
            if entries:
                value = entries[0][2]
                if not is_null(value) and isinstance(value, str) and \
                        str(value).rstrip(" \x00") == wanted:
                    return Tag((group << 16) | (block << 8) | (offset & 0xFF))
        return None

    def private(self, creator: str, group: int, offset: int, default=KeyError):
        """The value of a private element by its creator, group and offset
        (``ds.private("GEMS_IDEN_01", 0x0009, 0x01)``)."""
        tag = self.private_tag(creator, group, offset)
        if tag is None or tag not in self:
            if default is KeyError:
                raise KeyError(f"no element {offset:#04x} of private creator {creator!r} "
                               f"in group {group:04X}")
            return default
        return self[tag]

    def bulk(self, key) -> BulkValue:
        """The element's bytes on demand: ``ds.bulk(tag).read()``. For an
        inline binary value the BulkValue holds the bytes already."""
        tag, name, raw = self._entry(key)
        vr = element_vr(tag, raw)
        path = f"{self._path}.{name}"
        if hasattr(raw, "get") and "sha256" in raw:
            return BulkValue(vr, int(raw["dataOffset"]), int(raw["length"]), str(raw["sha256"]),
                             path, self._context)
        if isinstance(raw, (bytes, bytearray)):
            import hashlib
            data = bytes(raw)
            return BulkValue(vr, -1, len(data), hashlib.sha256(data).hexdigest(), path,
                             self._context, data)
        raise Dicom2IonError(f"{path} is not a binary or referenced value")

    # -- frames ---------------------------------------------------------------------
    def frames(self) -> Iterator[bytes]:
        """The frames of the pixel data, in order (see :mod:`dicom2ion.frames`)."""
        from .frames import iter_frames
        return iter_frames(self)

    def frame(self, index: int) -> bytes:
        """One frame by index (native: only that frame is kept in memory)."""
        from .frames import get_frame
        return get_frame(self, index)

    # -- values ----------------------------------------------------------------------
    def _typed(self, tag: int, name: str, raw):
        vr = element_vr(tag, raw)
        if is_null(raw):
            return None
        if isinstance(raw, list):
            key = self._prefix + "%08X" % tag
            return [Dataset(item, self._context, f"{self._path}.{name}[{i}]", f"{key}/{i}/",
                            self) for i, item in enumerate(raw)]
        if hasattr(raw, "get") and not isinstance(raw, (str, bytes)):
            if raw.get("encapsulatedPixelData"):
                from .frames import Encapsulated
                return Encapsulated(raw, self._context, f"{self._path}.{name}")
            if "sha256" in raw:
                return self.bulk(tag)
        if vr == "UN" and isinstance(raw, (bytes, bytearray)):
            known = self.known_vr(tag)
            if known is not None:
                return self._decode_un(known, tag, bytes(raw))
        return typed(vr, raw, decimal=self._context.decimal, arrays=self._context.arrays)

    def _charset_text(self, tag: int) -> Optional[str]:
        """Specific Character Set in force for ``tag`` (this data set's, for tags
        after it, else the enclosing one's)."""
        if tag > 0x00080005 and 0x00080005 in self._index():
            raw = self._by_tag[0x00080005][0][2]
            return str(raw) if isinstance(raw, str) else None
        return self._parent._charset_text(0xFFFFFFFF) if self._parent is not None else None

    def known_vr(self, key) -> Optional[str]:
        """The VR the dictionaries give the tag (the private one under this data
        set's creator), when it is a single VR that holds values; else None."""
        tag = self._tag(key)
        if tag & 0x10000:
            entry = self._private_entry(tag)
            vrs = entry.vrs if entry is not None else ()
        else:
            entry = self._context.dictionary.lookup(tag)
            vrs = entry.vrs if entry is not None else ()
        if len(vrs) != 1 or vrs[0] in ("UN", "SQ", ""):
            return None
        return vrs[0]

    def _decode_un(self, vr: str, tag: int, data: bytes):
        """UN bytes of a tag whose VR the dictionary knows, decoded with that VR
        (as pydicom does); the bytes stay in ``raw(tag)``."""
        from . import charset as charsets_mod
        from .ion import values
        sets = charsets_mod.parse_charsets(self._charset_text(tag))
        try:
            value, _ = values.decode(vr, data, self._context.little_endian, sets)
        except Exception:  # bytes that do not fit the VR stay bytes
            return data
        return typed(vr, value, decimal=self._context.decimal, arrays=self._context.arrays)

    def to_dict(self) -> dict:
        """{keyword or GGGGEEEE: typed value}; sequences as lists of dicts."""
        out = {}
        for element in self:
            value = element.value
            if isinstance(value, list) and value and isinstance(value[0], Dataset):
                value = [item.to_dict() for item in value]
            out[element.keyword or "%08X" % element.tag] = value
        return out

    def close(self) -> None:
        """Remove the temporary inflated copy a deflated source may have needed."""
        self._context.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# -- reading -----------------------------------------------------------------------

def _looks_like_ion(head: bytes) -> bool:
    if head[:4] == _BVM:
        return True
    if head[128:132] == b"DICM":
        return False
    text = head.lstrip(b" \t\r\n")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:].lstrip(b" \t\r\n")
    return text[:1] == b"{" or text[:4] == b"$ion" or text[:2] in (b"//", b"/*")


def read(source, *, fields=None, bulk_dir=None, source_file=None, decimal: bool = False,
         arrays: bool = False, dictionary=None, **convert_options) -> Dataset:
    """A :class:`Dataset` of a P10 file or an Ion document (path, bytes or a
    binary file object; which one is detected from the first bytes), or of
    a document already loaded (the dict ``convert`` or ``load`` gives).

    ``fields`` reads only those top-level attributes (a shallow read of an
    Ion document, see :func:`dicom2ion.load`). ``bulk_dir`` (a folder or a
    list) and ``source_file`` say where referenced values are found (default:
    the document's ``sourceInfo.uri``); a P10 source stores its referenced
    values in the first bulk folder. ``decimal`` gives DS values as
    Decimal, ``arrays`` binary numbers as zero-copy memoryviews.
    ``dictionary`` (paths of PS3.6 extracts or DCMTK ``.dic`` files, as for
    :func:`dicom2ion.convert`) names and types what the built-in dictionary
    does not know; a P10 source is converted with it. Other keyword
    arguments go to :func:`dicom2ion.convert` for P10 sources.
    """
    if dictionary:
        dictionary = load_dictionary(dictionary)
        convert_options["dictionary"] = dictionary
    from .convert import convert, load
    dirs = [bulk_dir] if isinstance(bulk_dir, (str, os.PathLike)) else list(bulk_dir or ())
    if dirs:      # a P10 source stores its referenced values in the first folder
        convert_options.setdefault("bulk_dir", os.fspath(dirs[0]))
    from_p10 = False
    if isinstance(source, dict) or hasattr(source, "iteritems"):
        document = source          # a document already in memory
        if fields is not None:
            document = _filtered(document, fields)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            head = fp.read(4096)
        if _looks_like_ion(head):
            document = load(source, fields=fields)
        else:
            document = convert(source, **convert_options)
            source_file = source_file or os.fspath(source)
            from_p10 = True
    else:
        if not isinstance(source, (bytes, bytearray, memoryview)):
            name = getattr(source, "name", None)
            if isinstance(name, str) and os.path.isfile(name) and not convert_options.get(
                    "inline_all"):
                return read(name, fields=fields, bulk_dir=bulk_dir, source_file=source_file,
                            decimal=decimal, arrays=arrays, **convert_options)
            source = source.read()
        data = bytes(source)
        if _looks_like_ion(data[:4096]):
            document = load(data, fields=fields)
        else:
            # no file to fetch referenced values from later: keep them all inline
            convert_options.setdefault("inline_all", True)
            document = convert(io.BytesIO(data), **convert_options)
            from_p10 = True
    if fields is not None and from_p10:
        document = _filtered(document, fields)
    data_set = document.get("dataSet")
    if data_set is None or not hasattr(data_set, "items"):
        raise IonDocumentError("missing dataSet struct", "dataSet")
    return Dataset(data_set, _Context(document, source_file, dirs, decimal, arrays,
                                      convert_options.get("dictionary")))


def _filtered(document, fields):
    """The document with only the named top-level attributes in dataSet."""
    from .ion.shallow import wanted_names
    names = wanted_names(fields, document_keywords(document))
    out = {k: v for k, v in document.items() if k != "dataSet"}
    data_set = document.get("dataSet") or {}
    from amazon.ion.simple_types import IonPyDict
    kept = IonPyDict()
    for name, value in struct_items(data_set):
        if str(name) in names:
            kept.add_item(name, value)
    out["dataSet"] = kept
    return out
