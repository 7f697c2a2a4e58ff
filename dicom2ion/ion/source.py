"""The Ion document -> events: the inverse of the visitor.

In exact mode the recorded ``wire`` facts restore the original bytes; in
canonical mode they are ignored and the values alone give a clean file
(explicit VR little endian for native data, defined lengths, standard
padding, strings re-encoded in the declared character set).
"""

from __future__ import annotations

import operator
import struct
from typing import Callable, Dict, Iterable, Iterator, Optional

from amazon.ion.simple_types import IonPyBytes, IonPyFloat, IonPyInt, IonPyNull, IonPyText

from .. import charset
from .._version import __version__
from ..dictionary import lookup, tag_for_keyword
from ..errors import IonDocumentError
from ..events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart,
    Fragment, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart, Trailing, ValueChunk, Damage, Unparsed,
)
from ..p10.syntax import EXPLICIT_LE, Encoding, encoding_for, encoding_from_name
from ..p10.vr import ALL_VRS, SWAP_SIZE, swap_bytes
from ..p10.wire import (
    META_GROUP, META_GROUP_LENGTH, SPECIFIC_CHARACTER_SET, TRANSFER_SYNTAX, CharsetScope,
    Context, header_size,
)
from . import multimap, values
from .visitor import dictionary_vr
# Identifies files that dicom2ion wrote in canonical mode (a 2.25 UUID-derived root).
IMPLEMENTATION_CLASS_UID = "2.25.150916287455425446447036328126411232785"
IMPLEMENTATION_VERSION_NAME = "DICOM2ION_" + __version__.replace(".", "")[:6]
_BOT = struct.Struct("<L")

# resolve(offset, length, sha256, path) -> chunks of the referenced bytes
Resolver = Callable[[int, int, str, str], Iterable[bytes]]


def document_keywords(document) -> Dict[str, int]:
    """The field names a document defines itself (``options.dataDictionary.
    keywords``: names from a dictionary given at conversion that the
    built-in dictionary does not resolve to the same tag) -> tag."""
    options = document.get("options") if hasattr(document, "get") else None
    dictionary = options.get("dataDictionary") if hasattr(options, "get") else None
    keywords = dictionary.get("keywords") if hasattr(dictionary, "get") else None
    if not hasattr(keywords, "get"):
        return {}
    out = {}
    for name, hex_tag in _items(keywords):
        try:
            out[str(name)] = int(str(hex_tag), 16)
        except ValueError:
            raise IonDocumentError(f"not a tag of 8 hex digits: {hex_tag!r}",
                                   f"options.dataDictionary.keywords.{name}") from None
    return out


def field_tag(name: str, keywords: Optional[Dict[str, int]] = None) -> Optional[int]:
    """Tag of a dataSet field name (keyword or 8 hex digits), or None;
    ``keywords``: the document's own names (``document_keywords``)."""
    if keywords:
        tag = keywords.get(name)
        if tag is not None:
            return tag
    tag = tag_for_keyword(name)
    if tag is not None:
        return tag
    if len(name) == 8:
        try:
            return int(name, 16)
        except ValueError:
            return None
    return None


def tag_of(name: str, path: str, keywords: Optional[Dict[str, int]] = None) -> int:
    """Tag of a dataSet field name (keyword or 8 hex digits)."""
    tag = field_tag(name, keywords)
    if tag is not None:
        return tag
    raise IonDocumentError(f"unknown keyword {name!r} (use a standard keyword or 8 hex digits)",
                           path)


def _annotation(value) -> Optional[str]:
    if type(value) in _BARE:
        return None             # (a bare value has no annotations to look up)
    anns = getattr(value, "ion_annotations", None)
    if not anns:
        return None
    ann = anns[0]
    return getattr(ann, "text", ann)


def _is_null(value) -> bool:
    return value is None or isinstance(value, IonPyNull)


# value types whose bytes come from values.encode alone (no sequence, no struct)
_PRIMITIVE = frozenset((str, int, float, bytes, type(None), IonPyText, IonPyInt, IonPyFloat,
                        IonPyBytes, IonPyNull))
_first = operator.itemgetter(0)
_new = tuple.__new__      # Element(...) without the NamedTuple's Python-level __new__


_BARE = frozenset((str, int, float, bytes, type(None)))   # already plain, never annotated
# wrapper type -> the plain type of its value (what _plain gives)
_UNWRAP = {IonPyText: str, IonPyInt: int, IonPyBytes: bytes, IonPyFloat: float}
_RUN = 256          # elements in one batch at most (a data set may hold millions)

# field name -> (tag, the VR the dictionary settles or None) for names the
# built-in dictionary resolves: worked out once per name
_NAME_INFO: Dict[str, tuple] = {}
_NAME_INFO_LIMIT = 1 << 16      # (hex names of private tags are many: bounded)


def _name_info(name: str) -> Optional[tuple]:
    """(tag, dictionary VR) of a field name without the document's own
    keywords, or None when it names no tag."""
    tag = field_tag(name)
    if tag is None:
        return None
    info = (tag, dictionary_vr(tag))
    if len(_NAME_INFO) >= _NAME_INFO_LIMIT:
        _NAME_INFO.clear()
    _NAME_INFO[name] = info
    return info


def _plain(value):
    """Strip amazon.ion wrapper types down to Python values."""
    if type(value) in _BARE:
        return value
    if _is_null(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


_items = multimap.pairs      # (name, value) pairs of a struct, repeated names included


def _value_chunks(chunks: Iterable[bytes]) -> Iterator[ValueChunk]:
    """ValueChunk events, the last one flagged (one chunk of look-ahead)."""
    previous = None
    for chunk in chunks:
        if not chunk:
            continue
        if previous is not None:
            yield ValueChunk(previous, False)
        previous = chunk
    yield ValueChunk(previous if previous is not None else b"", True)


def _swapped(chunks: Iterable[bytes], unit: int) -> Iterator[bytes]:
    """Byte-swap a stream of chunks in whole units."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        whole = len(data) - len(data) % unit
        carry = data[whole:]
        if whole:
            yield swap_bytes(data[:whole], unit)
    if carry:
        yield carry


def _fact_tags(elements: Dict[str, dict]) -> Dict[str, set]:
    """Data set prefix -> the tags that ``wire.elements`` has facts for,
    from its keys (``prefix + "%08X" % tag``, ``#n`` for a repeated tag):
    an element whose tag is not there has none, without making its key."""
    out: Dict[str, set] = {}
    for key in elements:
        head, _, last = key.rpartition("/")
        hex_tag = last.partition("#")[0]
        try:
            tag = int(hex_tag, 16)
        except ValueError:
            continue
        if "%08X" % tag == hex_tag:     # (any other spelling names no element)
            out.setdefault(head + "/" if head else "", set()).add(tag)
    return out


class IonSource:
    """Produces writer events for an Ion document (a dict as ``convert``
    returns it, or the value ``simpleion.load`` gives)."""

    def __init__(self, document, resolve: Resolver, *, canonical: bool = False,
                 transfer_syntax: Optional[str] = None):
        if not isinstance(document, dict) and not hasattr(document, "iteritems"):
            raise IonDocumentError("the document is not an Ion struct")
        self.document = document
        self.resolve = resolve
        self.canonical = canonical
        self.target_syntax = transfer_syntax
        self.keywords = document_keywords(document)
        wire = document.get("wire")
        self.wire = wire if wire is not None and not _is_null(wire) else {}
        # canonical mode ignores the wire facts, except to write the original
        # bytes of an unedited value that its character set cannot encode
        self._raw_fallback: Dict[str, dict] = self._section("elements") if canonical else {}
        if canonical:
            self.wire = {}
        self.elements: Dict[str, dict] = self._section("elements")
        self._fact_tags = _fact_tags(self.elements)
        self.item_facts: Dict[str, dict] = self._section("items")
        self.orders: Dict[str, list] = self._section("order")
        self.unparsed: Dict[tuple, list] = {}     # (at, meta) -> [record], in order
        raw = self.wire.get("unparsed")
        for index, record in enumerate(raw if raw is not None and not _is_null(raw) else ()):
            key = (str(record.get("at", "")), bool(record.get("meta", False)))
            self.unparsed.setdefault(key, []).append((index, record))
        self.seq_undefined = self.wire.get("sequenceLength") == "undefined"
        self.item_undefined = self.wire.get("itemLength") == "undefined"
        file_info = document.get("fileInfo") or {}
        self.source_encoding: Optional[Encoding] = None
        source_enc = file_info.get("encoding") if hasattr(file_info, "get") else None
        if source_enc:
            try:
                self.source_encoding = encoding_from_name(str(source_enc))
            except ValueError as exc:
                raise IonDocumentError(str(exc), "fileInfo.encoding") from None

    def _section(self, name: str) -> dict:
        value = self.wire.get(name)
        if value is None or _is_null(value):
            return {}
        return {str(k): v for k, v in _items(value)}

    # -- the whole file ----------------------------------------------------------
    def events(self) -> Iterator[object]:
        """The writer events of the whole file."""
        for item in self.batches():
            if type(item) is list:
                yield from item
            else:
                yield item

    def batches(self) -> Iterator[object]:
        """The events of ``events``, where runs of whole-valued elements of
        a data set come as one list each (at most _RUN long): what
        ``P10Writer.write_all`` takes in one loop."""
        fields = self._fields(self._checked_data_set(), "dataSet")
        meta = [f for f in fields if f[0] >> 16 == META_GROUP]
        body = [f for f in fields if f[0] >> 16 != META_GROUP]
        declared = None
        seen = 0
        for tag, _, value, name in meta:
            if tag == TRANSFER_SYNTAX:      # (the last one wins, as in the reader)
                seen += 1
                declared = self._declared_syntax(
                    value, "dataSet." + name, "00020010" if seen == 1 else f"00020010#{seen}")
        if self.canonical:
            yield Preamble(bytes(128))
            declared, encoding, meta = self._canonical_head(declared, meta, body)
        else:
            yield self._preamble()
            yield from self._damage()
            encoding = self._exact_encoding(declared)
        order = None if self.canonical else self.orders.get("")
        if meta or ("", True) in self.unparsed:
            meta_enc = self.wire.get("metaEncoding")
            meta_encoding = encoding_from_name(str(meta_enc)) if meta_enc else Encoding(True, True)
            yield FileMetaStart(0, meta_encoding.explicit_vr, meta_encoding.little_endian)
            yield from self._data_set(meta, "", CharsetScope(), meta_encoding.explicit_vr,
                                      meta_encoding.little_endian, order, "dataSet", meta=True)
        yield DataSetStart(0, declared, encoding.explicit_vr, encoding.little_endian,
                           encoding.deflated)
        yield from self._data_set(body, "", CharsetScope(), encoding.explicit_vr,
                                  encoding.little_endian, order, "dataSet", first=len(meta))
        if not self.canonical:
            yield from self._trailing(self.wire.get("trailing"), "wire.trailing")
        if encoding.deflated:
            yield self._deflate_info()
            if not self.canonical:
                yield from self._trailing(self.wire.get("afterDeflate"), "wire.afterDeflate")
        yield End(0)

    def _declared_syntax(self, value, path: str, key: str = "00020010") -> Optional[str]:
        """The transfer syntax a TransferSyntaxUID value declares (as the
        reader takes it from the bytes: an empty value declares "")."""
        plain = _plain(value)
        if plain is None:
            return ""
        if hasattr(plain, "get") and "sha256" in plain:    # (a long, damaged value)
            data = b"".join(c.data for c in self._chunks(plain, path, None))
            return data.decode("ascii", "replace").rstrip("\0 ")
        facts = self.elements.get(key) or {}
        if isinstance(plain, str) and plain.isascii() and not facts:
            return plain.rstrip("\0 ")
        # the bytes the writer will write (raw facts, an annotated blob): decoded as the
        # reader decodes them
        try:
            data = self._primitive_bytes(TRANSFER_SYNTAX, _annotation(value) or "UI", value,
                                         facts, True, (), path)
        except IonDocumentError:
            return plain.rstrip("\0 ") if isinstance(plain, str) else None
        return data.decode("ascii", "replace").rstrip("\0 ")

    def _damage(self):
        """The document's damage records as Damage events (diagnostics)."""
        damage = self.document.get("damage")
        if damage is None or _is_null(damage):
            return
        for index, record in enumerate(damage):
            path = str(record.get("path") or "")
            try:
                tags = tuple(int(t.strip("()").replace(",", ""), 16)
                             for t in path.split("/") if t)
                yield Damage(int(record.get("offset") or 0), tags, str(record["kind"]),
                             str(record.get("message") or ""))
            except (KeyError, TypeError, ValueError):
                raise IonDocumentError("a damage record needs offset, path, kind and message",
                                       f"damage[{index}]") from None

    def _raw(self, records: list, index: int):
        """The Unparsed events of ``records`` that stand before child ``index``
        (all of them when ``index`` is None); yields them and drops them."""
        while records and (index is None or int(records[0][1].get("index", 0)) <= index):
            number, record = records.pop(0)
            path = f"wire.unparsed[{number}]"
            data = record.get("data")
            if data is not None and not _is_null(data):
                yield Unparsed(0, len(data), bytes(data))
                continue
            try:
                length = int(record["length"])
            except (KeyError, TypeError, ValueError):
                raise IonDocumentError("unparsed bytes need data, or dataOffset, length and "
                                       "sha256", path) from None
            yield Unparsed(0, length, None if length else b"")
            if length:
                yield from self._chunks(record, path, None)

    def _raw_records(self, at: str, meta: bool = False) -> list:
        return list(self.unparsed.get((at, meta), ())) if not self.canonical else []

    def _checked_data_set(self):
        """The document's dataSet, once its schema version is known to be 1.x."""
        doc = self.document
        version = doc.get("schemaVersion")
        if version is not None and not _is_null(version) and str(version).split(".")[0] != "1":
            raise IonDocumentError(f"schemaVersion {version} is not supported (this is "
                                   f"dicom2ion {__version__}, schema 1.x)", "schemaVersion")
        data_set = doc.get("dataSet")
        if data_set is None or _is_null(data_set) or not hasattr(data_set, "items"):
            raise IonDocumentError("missing dataSet struct", "dataSet")
        return data_set

    def _preamble(self) -> Preamble:
        wire = self.wire
        preamble = wire.get("preamble", b"\0" * 128) if "preamble" in wire else bytes(128)
        return Preamble(None if _is_null(preamble) else bytes(preamble))

    def _exact_encoding(self, declared: Optional[str]) -> Encoding:
        """The data set's recorded encoding, else the declared one."""
        enc_name = self.wire.get("encoding")
        encoding = (encoding_from_name(str(enc_name)) if enc_name
                    else encoding_for(declared) or Encoding(False, True))
        self._source_little = encoding.little_endian
        return encoding

    def _canonical_head(self, declared: Optional[str], meta: list, body: list):
        """(transfer syntax, encoding, meta group) of a canonical file: native
        data becomes explicit VR little endian unless a target is given."""
        encoding = encoding_for(declared) or Encoding(False, True)
        target = self.target_syntax
        if target is None:
            native = declared in (None, "1.2.840.10008.1.2", "1.2.840.10008.1.2.2",
                                  "1.2.840.10008.1.2.1.99", EXPLICIT_LE)
            target = EXPLICIT_LE if native else declared
        self._source_little = (self.source_encoding or encoding).little_endian
        return target, encoding_for(target), self._canonical_meta(meta, body, target)

    def _deflate_info(self) -> DeflateInfo:
        """How to compress: the recorded level, or the original compressed bytes."""
        deflate = self.wire.get("deflate") if not self.canonical else None
        if deflate is None or _is_null(deflate) or "level" in deflate:
            level = 6 if deflate is None or _is_null(deflate) else int(deflate["level"])
            return DeflateInfo(0, 0, level, 0, "")
        data = deflate.get("data")
        return DeflateInfo(int(deflate["dataOffset"]), int(deflate["length"]), None, 0,
                           str(deflate["sha256"]),
                           None if data is None or _is_null(data) else bytes(data))

    def _trailing(self, value, path: str):
        if value is None or _is_null(value):
            return
        if isinstance(value, (bytes, bytearray)):
            yield Trailing(0, bytes(value))
            return
        yield Trailing(0, None)
        yield from self._chunks(value, path, None)

    def _canonical_meta(self, meta: list, body: list, target: str) -> list:
        """A complete meta group: the elements given, with the transfer syntax
        set, the required ones added (from the data set's SOP class and
        instance) and the group length computed."""
        have = {tag: (tag, vr, value, name) for tag, vr, value, name in meta
                if tag != META_GROUP_LENGTH}
        have[TRANSFER_SYNTAX] = (TRANSFER_SYNTAX, "UI", target, "TransferSyntaxUID")
        from_body = {tag: value for tag, _, value, _ in body}
        required = (
            (0x00020001, "OB", b"\x00\x01"),
            (0x00020002, "UI", from_body.get(0x00080016)),
            (0x00020003, "UI", from_body.get(0x00080018)),
            (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
            (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
        )
        for tag, vr, value in required:
            plain = _plain(value)
            if tag not in have and plain and ((isinstance(plain, str) and plain.isascii())
                                              or tag == 0x00020001):
                # (a UID only when the data set holds it as ASCII text)
                have[tag] = (tag, vr, value, "%08X" % tag)
        out = sorted(have.values(), key=lambda f: f[0])
        size = 0
        for tag, vr, value, name in out:
            data = self._primitive_bytes(tag, vr, value, None, True, (), "dataSet." + name)
            size += header_size(True, vr) + len(data)
        return [(META_GROUP_LENGTH, "UL", size, "FileMetaInformationGroupLength")] + out

    # -- data sets -------------------------------------------------------------------
    def _fields(self, struct_value, path: str) -> list:
        """[(tag, vr, value, field name)] of a data set struct (at ``path``)."""
        out = []
        append = out.append
        keywords = self.keywords
        names = _NAME_INFO
        for name, value in _items(struct_value):
            if type(name) is not str:
                name = str(name)
            info = None if keywords else (names.get(name) or _name_info(name))
            if info is None:
                tag = tag_of(name, path + "." + name, keywords)
                plain_vr = dictionary_vr(tag)
            else:
                tag, plain_vr = info
            vr = None
            if type(value) not in _BARE:      # (_annotation, without the call)
                anns = getattr(value, "ion_annotations", None)
                if anns:
                    vr = getattr(anns[0], "text", anns[0])
            if vr is None:
                vr = plain_vr
                if vr is None:
                    if isinstance(value, list):
                        vr = "SQ"
                    elif hasattr(value, "get") and value.get("encapsulatedPixelData"):
                        vr = "OB"
                    else:
                        entry = lookup(tag)
                        if entry is None or not entry.vr:
                            raise IonDocumentError(
                                f"no VR known for tag {tag:08X}: add a VR annotation "
                                "(for example LO::\"text\")", path + "." + name)
                        vr = entry.vr
            elif vr not in ALL_VRS:
                raise IonDocumentError(f"unknown VR annotation {vr!r}", path + "." + name)
            append((tag, vr, value, name))
        return out

    def _data_set(self, fields: list, prefix: str, charsets: CharsetScope, explicit: bool,
                  little: bool, order: Optional[list], path: str, meta: bool = False,
                  first: int = 0):
        if order is not None:
            fields = self._ordered(fields, order, path)
        else:
            fields = sorted(fields, key=_first)
        tags = [f[0] for f in fields]
        counts: Optional[Dict[int, int]] = {} if len(set(tags)) != len(tags) else None
        elements = self.elements
        # the tags of this data set that have wire facts (None: none has)
        with_facts = self._fact_tags.get(prefix)
        encode = values.encode
        text_pad, numbers = values.TEXT_PAD, values.NUMBERS[little]
        bare = _BARE
        raw = self._raw_records(prefix[:-1], meta) if self.unparsed else None
        unwrap = _UNWRAP
        run: list = []               # whole-valued elements, yielded as one batch
        append = run.append
        room = _RUN                  # (elements the run may still take)
        for number, (tag, vr, value, name) in enumerate(fields, first):
            if raw:
                if run:
                    yield run
                    run = []
                    append = run.append
                    room = _RUN
                yield from self._raw(raw, number)
            seen = 1
            if counts is not None:   # (a repeated tag: its wire path says which one)
                seen = counts[tag] = counts.get(tag, 0) + 1
            key = facts = None
            if with_facts is not None and tag in with_facts:
                key = prefix + "%08X" % tag
                if seen > 1:
                    key = f"{key}#{seen}"
                facts = elements.get(key)
            if facts is None:
                # the common case, without a generator per element: a value
                # with no wire facts is its canonical bytes
                kind = type(value)
                plain = value
                if kind is not str and kind is not int and kind is not bytes and value is not None:
                    convert = unwrap.get(kind)
                    if convert is not None:
                        plain = convert(value)
                        kind = type(plain)
                data = None
                if kind is str:
                    pad = text_pad.get(vr)
                    # (ASCII without ESC is itself in every character set:
                    # values.encode's rule, without its calls)
                    if pad is not None and plain.isascii() and "\x1b" not in plain:
                        data = plain.encode("ascii")
                        if len(data) & 1:
                            # (an odd value of 65535 bytes or more: encode's rule)
                            data = data + pad if len(data) < 0xFFFF else None
                elif kind is int:
                    fmt = numbers.get(vr)
                    if fmt is not None:
                        try:
                            data = fmt.pack(plain)
                        except (struct.error, OverflowError):
                            pass    # (encode names the problem)
                elif kind is bytes:
                    if little or vr not in SWAP_SIZE:
                        data = plain
                elif plain is None:
                    data = b""
                if data is None and kind in _PRIMITIVE:
                    try:
                        data = encode(vr, plain if kind in bare else _plain(value), little,
                                      charsets.for_tag(tag))
                    except (TypeError, ValueError):
                        pass            # _element names the problem (or finds raw bytes)
                if data is not None:
                    append(_new(Element, (tag, vr, len(data), 0, data, None, 0)))
                    if tag == SPECIFIC_CHARACTER_SET:
                        text = _plain(value)
                        charsets.current = charset.parse_charsets(
                            text if isinstance(text, str) else None)
                    room -= 1
                    if not room:
                        yield run
                        run = []
                        append = run.append
                        room = _RUN
                    continue
            if key is None:
                key = prefix + "%08X" % tag + (f"#{seen}" if seen > 1 else "")
            if run:
                yield run
                run = []
                append = run.append
                room = _RUN
            yield from self._element(tag, vr, value, key, facts, charsets.for_tag(tag),
                                     explicit, little, path + "." + name)
            if tag == SPECIFIC_CHARACTER_SET:
                text = _plain(value)
                charsets.current = charset.parse_charsets(text if isinstance(text, str) else None)
        if run:
            yield run
        if raw:
            yield from self._raw(raw, None)

    @staticmethod
    def _ordered(fields: list, order, path: str) -> list:
        by_tag: Dict[int, list] = {}
        for f in fields:
            by_tag.setdefault(f[0], []).append(f)
        out = []
        for hex_tag in order:
            try:
                queue = by_tag.get(int(str(hex_tag), 16))
            except ValueError:
                raise IonDocumentError(f"not a tag of 8 hex digits in the order: {hex_tag!r}",
                                       path) from None
            if queue:
                out.append(queue.pop(0))
        rest = [f for q in by_tag.values() for f in q]
        return out + sorted(rest, key=lambda f: f[0])

    def _element(self, tag, vr, value, key, facts, charsets, explicit, little, path):
        facts = facts or {}
        raw_vr = facts.get("vr")
        raw_vr = bytes(raw_vr) if raw_vr is not None else None
        reserved = int(facts.get("reserved", 0))
        if isinstance(value, list):
            yield from self._sequence(tag, vr, value, key, facts, charsets, explicit, little,
                                      raw_vr, reserved, path)
            return
        if not _is_null(value) and hasattr(value, "get") and not isinstance(value, (str, bytes)):
            if value.get("encapsulatedPixelData"):
                yield from self._fragments(tag, vr, value, key, facts, raw_vr, reserved, path)
                return
            if "dataOffset" in value and "sha256" in value:
                try:
                    length = int(value["length"])
                except (KeyError, TypeError, ValueError):
                    raise IonDocumentError("a bulk reference needs dataOffset, length and "
                                           "sha256", path) from None
                if vr in ("SQ",):
                    raise IonDocumentError("a sequence cannot be a bulk reference", path)
                declared = int(facts.get("length", length))   # (more: the input was cut)
                yield Element(tag, vr, declared, 0, None if declared else b"", raw_vr, reserved)
                if length:
                    yield from self._chunks(value, path, vr)
                elif declared:
                    yield ValueChunk(b"", True)
                return
            raise IonDocumentError("a struct value must be a bulk reference "
                                   "{dataOffset, length, sha256} or encapsulated pixel data", path)
        try:
            data = self._primitive_bytes(tag, vr, value, facts, little, charsets, path)
        except IonDocumentError:
            data = self._unedited_raw(key, vr, value, little, charsets)
            if data is None:
                raise
        yield Element(tag, vr, int(facts.get("length", len(data))), 0, data, raw_vr, reserved)

    def _unedited_raw(self, key, vr, value, little, charsets) -> Optional[bytes]:
        """The recorded raw bytes of a value, if it decodes to the value given."""
        raw = (self._raw_fallback.get(key) or {}).get("raw")
        if raw is None or _is_null(raw):
            return None
        raw = bytes(raw)
        decoded, _ = values.decode(vr, raw, little, charsets)
        return raw if decoded == _plain(value) else None

    def _primitive_bytes(self, tag, vr, value, facts, little, charsets, path) -> bytes:
        try:
            return values.apply_wire(vr, _plain(value), facts, little, charsets)
        except (TypeError, ValueError) as exc:
            raise IonDocumentError(f"value does not fit VR {vr}: {exc}", path) from None

    def _chunks(self, ref, path: str, vr: Optional[str]):
        try:
            offset, length, sha = int(ref["dataOffset"]), int(ref["length"]), str(ref["sha256"])
        except (KeyError, TypeError, ValueError):
            raise IonDocumentError("broken bulk reference (needs dataOffset, length, sha256)",
                                   path) from None
        chunks = self.resolve(offset, length, sha, path)
        unit = SWAP_SIZE.get(vr) if vr else None
        if self.canonical and unit and self._source_little is False:
            chunks = _swapped(chunks, unit)
        yield from _value_chunks(chunks)

    # -- sequences -----------------------------------------------------------------
    def _sequence(self, tag, vr, items, key, facts, charsets, explicit, little, raw_vr,
                  reserved, path):
        undefined = facts.get("undefinedLength", self.seq_undefined)
        if vr == "UN" and not self.canonical:
            undefined = True
        if self.canonical:
            # in implicit VR only an undefined length tells a reader that a tag
            # the dictionary does not call SQ holds a sequence (it may be empty)
            undefined = vr == "UN" or (not explicit and dictionary_vr(tag) != "SQ")
        length = UNDEFINED if undefined else facts.get("length")
        yield _new(SequenceStart, (tag, vr, None if length is None else int(length), 0, raw_vr,
                                   reserved))
        inner = Context(explicit, little).inside(vr, length)
        raw = self._raw_records(key) if self.unparsed else None
        for index, item in enumerate(items):
            if raw:
                yield from self._raw(raw, index)
            ipath = f"{path}[{index}]"
            if not hasattr(item, "items") or _is_null(item):
                raise IonDocumentError("a sequence item must be a struct", ipath)
            ikey = f"{key}/{index}"
            ifacts = self.item_facts.get(ikey) or {}
            iundef = False if self.canonical else ifacts.get("undefinedLength", self.item_undefined)
            ilength = UNDEFINED if iundef else ifacts.get("length")
            yield _new(ItemStart, (0, None if ilength is None else int(ilength)))
            fields = self._fields(item, ipath)
            order = None if self.canonical else self.orders.get(ikey)
            yield from self._data_set(fields, ikey + "/", CharsetScope(charsets),
                                      inner.explicit, inner.little, order, ipath)
            if ifacts.get("truncated"):
                yield _new(ItemEnd, (0, False, 0, True))
            else:
                yield _new(ItemEnd, (0, bool(iundef), int(ifacts.get("delimiterLength", 0)), False))
        if raw:
            yield from self._raw(raw, None)
        if facts.get("truncated") and not self.canonical:
            yield SequenceEnd(0, False, 0, True)
            return
        yield _new(SequenceEnd, (0, bool(undefined), int(facts.get("delimiterLength", 0)), False))

    def _fragments(self, tag, vr, value, key, facts, raw_vr, reserved, path):
        if self.canonical and vr not in ("OB", "OW"):
            vr, raw_vr = "OB", None   # encapsulated data is OB
        yield FragmentsStart(tag, vr, 0, raw_vr, reserved)
        raw = self._raw_records(key) if self.unparsed else None
        count = 0
        if raw:
            yield from self._raw(raw, 0)
        if not facts.get("noOffsetTable"):
            table = value.get("basicOffsetTable")
            if table is None or _is_null(table):
                bot = b""
            elif isinstance(table, (bytes, bytearray)):
                bot = bytes(table)
            else:
                try:
                    bot = b"".join(_BOT.pack(int(x)) for x in table)
                except (TypeError, ValueError, struct.error):
                    raise IonDocumentError("basicOffsetTable must be a list of offsets",
                                           path + ".basicOffsetTable") from None
            yield Fragment(0, int(facts.get("offsetTableLength", len(bot))), bot)
            count = 1
        fragments = value.get("fragments") or []
        for index, frag in enumerate(fragments, count):
            if raw:
                yield from self._raw(raw, index)
            fpath = f"{path}.fragments[{index - count}]"
            try:
                position, length, sha = int(frag["position"]), int(frag["length"]), str(frag["sha256"])
                have = int(frag.get("dataLength", length))   # (fewer: the input was cut)
            except (KeyError, TypeError, ValueError):
                raise IonDocumentError("a fragment needs position, length and sha256", fpath) from None
            data = frag.get("data")
            if data is not None and not _is_null(data) and len(data) == have:
                yield Fragment(0, length, bytes(data))
            elif not have:
                yield Fragment(0, length, b"")
            else:
                yield Fragment(0, length, None)
                yield from _value_chunks(self.resolve(position, have, sha, fpath))
        if raw:
            yield from self._raw(raw, None)
        if facts.get("truncated") and not self.canonical:
            yield FragmentsEnd(0, 0, True)
            return
        yield FragmentsEnd(0, int(facts.get("delimiterLength", 0)))
