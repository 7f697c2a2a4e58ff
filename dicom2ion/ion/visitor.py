"""Events -> the Ion document's ``dataSet`` and ``wire`` sections.

The visitor keeps values as Ion wants them (keyword = value, VRs as
annotations only where the dictionary does not settle them) and records in
``wire`` every fact the canonical writer would not reproduce by itself.
See SCHEMA.md.
"""

from __future__ import annotations

import hashlib
import operator
import struct
from typing import Callable, Dict, List, Optional

from amazon.ion.core import IonType
from amazon.ion.simple_types import (
    IonPyBytes, IonPyDict, IonPyFloat, IonPyInt, IonPyList, IonPyText,
)

from .. import charset
from ..dictionary import BUILTIN, Dictionary, keyword_for, lookup
from ..events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart,
    Fragment, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart, Trailing, ValueChunk, Damage, Unparsed,
)
from ..errors import format_tag
from ..p10.syntax import Encoding, encoding_for
from ..p10.wire import (
    ITEM, SEQUENCE_END, SPECIFIC_CHARACTER_SET, CharsetScope, Context, ImplicitVRs, creator_tag,
    header_size, item_header,
)
from . import inplace, values
from .values import decode as _decode
from .frame_map import HEAD, extended_offsets, frame_map
from .inline import InlineLimits
from .null import null
from .order import sort_key

NUMBER_OF_FRAMES = 0x00280008
EXTENDED_OFFSET_TABLE = 0x7FE00001
_BOT = struct.Struct("<L")

# tag -> the single VR the dictionary gives, or None (multi-VR, no VR, unknown)
_SINGLE_VR: Dict[int, Optional[str]] = {}


def dictionary_vr(tag: int) -> Optional[str]:
    """The VR that the dictionary settles for a standard tag, else None."""
    try:
        return _SINGLE_VR[tag]
    except KeyError:
        pass
    entry = lookup(tag)
    vr = entry.vr if entry is not None and len(entry.vrs) == 1 else None
    if not tag & 0x10000:
        _SINGLE_VR[tag] = vr
    return vr


def field_name(tag: int) -> str:
    """Keyword of a standard tag, else 8 hex digits."""
    return keyword_for(tag) or "%08X" % tag


class DictionaryRules:
    """What a dictionary given at run time changes in the document, judged
    against the built-in dictionary (which is all a reader of the Ion may
    have): field names it knows that the built-in does not resolve to the
    same tag (kept in ``options.dataDictionary.keywords``), and in implicit
    VR the VRs it gives (``p10.wire.ImplicitVRs``): values then decoded with
    that VR and annotated with it."""

    def __init__(self, dictionary: Dictionary):
        builtin_tag = BUILTIN.tag_for_keyword
        self.names = {tag: kw for tag, kw in dictionary.keywords().items()
                      if builtin_tag(kw) != tag}
        # a built-in keyword that the dictionary gives another tag must not name
        # this one too: it takes the dictionary's own keyword, else 8 hex digits
        for tag, kw in BUILTIN.keywords().items():
            if dictionary.tag_for_keyword(kw) != tag and tag not in self.names:
                self.names[tag] = dictionary.keyword_for(tag) or "%08X" % tag
        self.implicit = ImplicitVRs.of(dictionary)
        self.standard = self.implicit.standard
        self.private = self.implicit.private

    @classmethod
    def of(cls, dictionary: Dictionary) -> "DictionaryRules":
        rules = dictionary.cache.get("visitor")
        if rules is None:
            rules = dictionary.cache["visitor"] = cls(dictionary)
        return rules

    def private_vr(self, creators: Optional[dict], tag: int) -> Optional[str]:
        """The VR of an implicit-VR private element under its creator."""
        if not creators:
            return None
        return self.implicit.private_vr(creators.get(creator_tag(tag)), tag)


# tag -> (sort key, field name, the VR that needs no annotation or None,
# special): worked out once per tag, so an element costs one look-up
_TAG_INFO: Dict[int, tuple] = {}
_TAG_INFO_LIMIT = 1 << 16       # private tags are many across files: bounded
# values that the rest of the data set depends on (see IonVisitor._special)
_SPECIAL = frozenset((SPECIFIC_CHARACTER_SET, NUMBER_OF_FRAMES, EXTENDED_OFFSET_TABLE))


def tag_info(tag: int) -> tuple:
    """(sort key, field name, the VR that goes unannotated, special) of a
    tag; a private tag's VR is always annotated (None); special: the tag's
    value matters to other elements (character set, frames, offsets)."""
    info = _TAG_INFO.get(tag)
    if info is None:
        info = (sort_key(tag), field_name(tag),
                None if tag & 0x10000 else dictionary_vr(tag), tag in _SPECIAL)
        if len(_TAG_INFO) >= _TAG_INFO_LIMIT:
            _TAG_INFO.clear()
        _TAG_INFO[tag] = info
    return info


def _annotated(cls, ion_type):
    base = cls.__mro__[1].__new__   # (str.__new__ for IonPyText, ...: the
    # Python-level __new__ only sets the annotations, which make() sets)

    def make(value, ann):
        out = base(cls, value)
        out.ion_type = ion_type
        out.ion_annotations = ann
        return out
    return make


# the common types, one look-up each (the same values from_value makes)
_ANNOTATE = {str: _annotated(IonPyText, IonType.STRING), int: _annotated(IonPyInt, IonType.INT),
             float: _annotated(IonPyFloat, IonType.FLOAT),
             bytes: _annotated(IonPyBytes, IonType.BLOB)}


def annotate(value, vr: str):
    """An Ion value carrying its VR as annotation."""
    ann = (vr,)
    fast = _ANNOTATE.get(type(value))
    if fast is not None:
        return fast(value, ann)
    if value is None:
        return null(ann)
    if isinstance(value, str):
        return IonPyText.from_value(IonType.STRING, value, ann)
    if isinstance(value, bool):
        return IonPyInt.from_value(IonType.BOOL, value, ann)
    if isinstance(value, int):
        return IonPyInt.from_value(IonType.INT, value, ann)
    if isinstance(value, float):
        return IonPyFloat.from_value(IonType.FLOAT, value, ann)
    if isinstance(value, (bytes, bytearray)):
        return IonPyBytes.from_value(IonType.BLOB, bytes(value), ann)
    if isinstance(value, list):
        return IonPyList.from_value(IonType.LIST, value, ann)
    if isinstance(value, dict):
        return IonPyDict.from_value(IonType.STRUCT, value, ann)
    raise TypeError(type(value))


class _DataSet:
    """Elements of the top-level data set or of one item."""

    __slots__ = ("fields", "prefix", "charsets", "explicit", "little", "tags", "in_order",
                 "frames", "seen", "tag_set", "floor", "creators", "extended")

    def __init__(self, prefix: str, charsets: CharsetScope, explicit: bool, little: bool):
        self.fields: list = []        # (sort key, name, value)
        self.prefix = prefix          # wire path of this data set + "/" (or "")
        self.charsets = charsets      # which Specific Character Set applies
        self.explicit = explicit
        self.little = little
        self.tags: List[int] = []
        self.in_order = True
        self.frames: Optional[int] = None   # NumberOfFrames (None: absent or not a number)
        self.seen: Optional[dict] = None     # tag -> count, for repeated tags
        self.tag_set: Optional[set] = None   # built once the order breaks
        self.floor = 0                       # where the current section (meta, body) starts
        self.creators: Optional[dict] = None  # private creator tag -> creator (with a dictionary)
        self.extended: Optional[list] = None  # Extended Offset Table offsets, for the frame map

    def key(self, tag: int) -> str:
        """Wire path of the latest element with this tag (repeats get #n)."""
        base = self.prefix + "%08X" % tag
        seen = self.seen
        if seen and seen.get(tag, 1) > 1:
            return f"{base}#{seen[tag]}"
        return base

    def note(self, tag: int) -> None:
        tags = self.tags
        if self.tag_set is None:
            if len(tags) == self.floor or tag > tags[-1]:
                tags.append(tag)
                return
            self.in_order = False
            self.tag_set = set(tags)
        if tag in self.tag_set:
            if self.seen is None:
                self.seen = {}
            self.seen[tag] = self.seen.get(tag, 1) + 1
        else:
            self.tag_set.add(tag)
        tags.append(tag)


class _Sequence:
    __slots__ = ("tag", "vr", "key", "length", "offset", "header", "items", "explicit",
                 "little", "parent", "annotated", "item_start")

    def __init__(self, tag, vr, key, length, offset, header, explicit, little, parent, annotated):
        self.tag = tag
        self.vr = vr
        self.key = key
        self.length = length
        self.offset = offset
        self.header = header
        self.items: list = []
        self.explicit = explicit
        self.little = little
        self.parent = parent
        self.annotated = annotated
        self.item_start = None  # (offset, length) of the open item


class _Fragments:
    __slots__ = ("tag", "vr", "key", "offset", "data_offset", "parent", "hash", "bot",
                 "fragments", "first", "current", "annotated", "length", "heads")

    def __init__(self, tag, vr, key, offset, data_offset, parent, annotated):
        self.tag = tag
        self.vr = vr
        self.key = key
        self.offset = offset
        self.data_offset = data_offset
        self.parent = parent
        self.annotated = annotated
        self.hash = hashlib.sha256()
        self.bot = None
        self.fragments: list = []
        self.first = None       # offset of the first fragment item (after the BOT)
        self.current = None     # [fragment dict, hasher] while chunks arrive
        self.length = 0
        self.heads: list = []   # each fragment's first bytes (codec start markers)


class BulkSink:
    """Receives every referenced value (to store it by its sha256)."""

    def store(self, sha256: str, data: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def begin(self) -> object:  # pragma: no cover - interface
        raise NotImplementedError

    def write(self, handle, data: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self, handle, sha256: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class IonVisitor:
    """Consumes reader events; ``data_set`` and ``wire`` hold the result
    after the ``End`` event. ``input_size``: the input's size when known,
    the most a long inline value is allocated ahead (see ``_value_buffer``)."""

    def __init__(self, *, limits: InlineLimits = InlineLimits(),
                 bulk_sink: Optional[BulkSink] = None, dictionary: Optional[Dictionary] = None,
                 input_size: Optional[int] = None):
        self.limits = limits
        self.input_size = input_size
        self.dictionary = dictionary or BUILTIN
        # a dictionary given at run time: its names and implicit-VR rules
        self._rules = None if self.dictionary.builtin else DictionaryRules.of(self.dictionary)
        self.keywords: Dict[str, str] = {}   # names the built-in dictionary does not resolve
        self.bulk_sink = bulk_sink
        self._inline_fragments = limits.everything
        # the inline limit of a standard and of a private tag (None: everything inline)
        self._standard_limit = limits.limit_for(0)
        self._private_limit = limits.limit_for(0x10000)
        self.data_set: Optional[dict] = None
        self.wire: dict = {}
        self.transfer_syntax: Optional[str] = None
        self.encoding: Optional[Encoding] = None
        self._stack: list = []
        self._elements: Dict[str, dict] = {}
        self._items: Dict[str, dict] = {}
        self._orders: Dict[str, list] = {}
        self._seq_lengths: list = []   # (key, undefined)
        self._item_lengths: list = []  # (key, undefined)
        self._pending = None           # value arriving in chunks
        self._trailing = None          # chunks of long trailing bytes
        self._trailing_field = "trailing"
        self.damage: list = []          # the Damage records of a salvage read
        self._unparsed: list = []       # wire.unparsed records
        self._in_meta = False
        self._dispatch: Dict[type, Callable] = {
            Element: self._element, ValueChunk: self._chunk, SequenceStart: self._sequence_start,
            ItemStart: self._item_start, ItemEnd: self._item_end, SequenceEnd: self._sequence_end,
            FragmentsStart: self._fragments_start, Fragment: self._fragment,
            FragmentsEnd: self._fragments_end, Preamble: self._preamble,
            FileMetaStart: self._meta_start, DataSetStart: self._data_set_start,
            Trailing: self._trailing_start, DeflateInfo: self._deflate, End: self._end,
            Damage: self._damage, Unparsed: self._unparsed_bytes,
        }

    def visit(self, event) -> None:
        self._dispatch[type(event)](event)

    def visit_all(self, events) -> None:
        """``visit`` each event in turn (one look-up per event); a source
        with ``batches()`` (``p10.source.EventStream``) is taken a run of
        elements at a time."""
        dispatch = self._dispatch
        element = self._element
        batches = getattr(events, "batches", None)
        if batches is not None:
            elements = self._element_run
            for batch in batches():
                if len(batch) > 1:
                    elements(batch)     # elements of one data set (see P10Reader.batches)
                else:
                    event = batch[0]
                    dispatch[type(event)](event)
            return
        for event in events:
            if type(event) is Element:
                element(event)
            else:
                dispatch[type(event)](event)
                if type(event) is Damage:       # (a cut value may follow: see _damage)
                    element = dispatch[Element]

    # -- facts ----------------------------------------------------------------
    def _fact(self, key: str, name: str, value) -> None:
        self._elements.setdefault(key, {})[name] = value

    def _header_facts(self, key: str, event) -> None:
        """Record header bytes the writer cannot derive: an invalid VR, reserved bytes."""
        if event.raw_vr is not None:
            self._fact(key, "vr", event.raw_vr)
        if event.reserved:
            self._fact(key, "reserved", event.reserved)

    def _add(self, ds: _DataSet, tag: int, vr: str, value, annotated: Optional[bool] = None) -> None:
        key, name, plain_vr, _ = tag_info(tag)
        if annotated is None:
            annotated = vr != plain_vr
        if annotated:
            value = annotate(value, vr)
        if self._rules is not None and tag in self._rules.names:
            name = self._own_name(tag)
        ds.fields.append((key, name, value))

    def _own_name(self, tag: int) -> str:
        """The given dictionary's keyword for a tag the built-in one names
        otherwise (or not at all), recorded for ``options.dataDictionary``."""
        name = self._rules.names[tag]
        hex_tag = "%08X" % tag
        if name != hex_tag:
            self.keywords[name] = hex_tag
        return name

    # -- top level --------------------------------------------------------------
    def _preamble(self, event: Preamble) -> None:
        if event.data is None:
            self.wire["preamble"] = None
        elif event.data.count(0) != len(event.data):
            self.wire["preamble"] = event.data

    def _meta_start(self, event: FileMetaStart) -> None:
        if not event.explicit_vr or not event.little_endian:
            self.wire["metaEncoding"] = Encoding(event.explicit_vr, event.little_endian).name
        if not self._stack:
            self._stack.append(_DataSet("", CharsetScope(), event.explicit_vr,
                                        event.little_endian))
        self._in_meta = True

    def _data_set_start(self, event: DataSetStart) -> None:
        self._in_meta = False
        self.transfer_syntax = event.transfer_syntax
        self.encoding = Encoding(event.explicit_vr, event.little_endian, event.deflated)
        if encoding_for(event.transfer_syntax) != self.encoding:
            self.wire["encoding"] = self.encoding.name
        if self._stack:
            top = self._stack[0]
            top.explicit, top.little = event.explicit_vr, event.little_endian
            # the writer puts the meta group first: order is checked per section
            top.floor = len(top.tags)
        else:
            self._stack.append(_DataSet("", CharsetScope(), event.explicit_vr,
                                        event.little_endian))

    # -- primitive values ---------------------------------------------------------
    def _element(self, event: Element) -> None:
        self._element_run((event,))

    def _element_run(self, events) -> None:
        """Primitive elements of the current data set, in order. The common
        case (a whole value that nothing else depends on, in the built-in
        dictionary's terms, with a plain header) is done here with the data
        set's state looked up once; any other goes to ``_any_element``."""
        ds = self._stack[-1]
        if self._rules is not None:
            for event in events:
                self._any_element(ds, event)
            return
        tags = ds.tags
        fields = ds.fields
        little = ds.little
        in_force = ds.charsets.for_tag
        standard_limit, private_limit = self._standard_limit, self._private_limit
        infos = _TAG_INFO
        for event in events:
            tag, vr, length, offset, data, raw_vr, reserved = event
            info = infos.get(tag) or tag_info(tag)
            if data is None or info[3] or raw_vr is not None or reserved:
                self._any_element(ds, event)
                continue
            if ds.tag_set is None and tags and tag > tags[-1] and len(tags) > ds.floor:
                tags.append(tag)                # in order: the common case of note()
            else:
                ds.note(tag)
            limit = private_limit if tag & 0x10000 else standard_limit
            if limit is not None and len(data) > limit:
                self._reference(ds, tag, vr, offset, raw_vr, data)
                continue
            value, facts = _decode(vr, data, little, in_force(tag))
            if facts:
                key = ds.key(tag)
                for name, fact in facts.items():
                    self._fact(key, name, fact)
            if vr != info[2]:
                value = annotate(value, vr)
            fields.append((info[0], info[1], value))

    def _value_buffer(self, tag: int, vr: str, length: int):
        """Where an inline value arriving in chunks gathers: a long binary
        one whose length the input can hold, straight in its final object
        (``IonPyBytes`` when it will carry its VR), else a bytearray."""
        if (self.input_size is not None and length <= self.input_size
                and vr not in values.TEXT_VRS):
            cls = IonPyBytes if vr != tag_info(tag)[2] else bytes
            buffer = inplace.filling(cls, length)
            if buffer is not None:
                return buffer
        return bytearray()

    def _reference(self, ds: _DataSet, tag: int, vr: str, offset: int,
                   raw_vr: Optional[bytes], data: bytes) -> None:
        """A whole value over the inline limit: referenced by offset, length
        and sha256 (and stored in the bulk sink, when there is one)."""
        sha = hashlib.sha256(data).hexdigest()
        if self.bulk_sink is not None:
            self.bulk_sink.store(sha, data)
        self._add(ds, tag, vr, {"dataOffset": offset + header_size(ds.explicit, vr, raw_vr),
                                "length": len(data), "sha256": sha})

    def _any_element(self, ds: _DataSet, event: Element) -> None:
        """Any primitive element: a value in chunks, a special tag, header
        facts, a dictionary given at run time."""
        tag, vr, length, offset, data, raw_vr, reserved = event
        rules = self._rules
        if rules is not None and not ds.explicit:
            # implicit VR: the given dictionary may know the VR the reader did not
            if tag & 0x10000:
                vr = (rules.private_vr(ds.creators, tag) or vr) if vr == "UN" else vr
            else:
                vr = rules.standard.get(tag, vr)
        if tag == EXTENDED_OFFSET_TABLE and data is not None and ds.little:
            ds.extended = extended_offsets(data)
        tags = ds.tags
        if ds.tag_set is None and tags and tag > tags[-1] and len(tags) > ds.floor:
            tags.append(tag)                # in order: the common case of note()
        else:
            ds.note(tag)
        if raw_vr is not None or reserved:
            self._header_facts(ds.key(tag), event)
        limit = self._private_limit if tag & 0x10000 else self._standard_limit
        if data is None:
            self._pending = [ds, tag, vr, offset + header_size(ds.explicit, vr, raw_vr),
                             length, hashlib.sha256(),
                             self._value_buffer(tag, vr, length) if limit is None else None,
                             self.bulk_sink.begin() if self.bulk_sink else None, 0]
            return
        if limit is not None and len(data) > limit:
            self._reference(ds, tag, vr, offset, raw_vr, data)
            return
        value, facts = _decode(vr, data, ds.little, ds.charsets.for_tag(tag))
        if facts:
            key = ds.key(tag)
            for name, fact in facts.items():
                self._fact(key, name, fact)
        if tag == SPECIFIC_CHARACTER_SET or tag == NUMBER_OF_FRAMES:
            self._special(ds, tag, value)
        info = _TAG_INFO.get(tag) or tag_info(tag)
        if vr != info[2]:
            value = annotate(value, vr)
        if rules is not None:
            if tag in rules.names:
                ds.fields.append((info[0], self._own_name(tag), value))
                return
            if rules.private and tag & 0x10000 and isinstance(value, str) \
                    and 0x10 <= tag & 0xFFFF <= 0xFF:
                if ds.creators is None:
                    ds.creators = {}
                ds.creators[tag] = value
        ds.fields.append((info[0], info[1], value))

    @staticmethod
    def _special(ds: _DataSet, tag: int, value) -> None:
        """Values that the rest of the data set depends on."""
        if tag == SPECIFIC_CHARACTER_SET:
            ds.charsets.current = charset.parse_charsets(value if isinstance(value, str) else None)
        elif isinstance(value, str):
            try:
                ds.frames = int(value)
            except ValueError:
                pass

    def _chunk(self, event: ValueChunk) -> None:
        pending = self._pending
        if isinstance(pending, _Fragments):
            self._fragment_chunk(pending, event)
            return
        if pending is None:
            trailing = self._trailing
            if trailing is None:
                raise ValueError("value chunk without a value")
            if isinstance(trailing, list):
                trailing.append(event.data)
                if event.last:
                    self.wire[self._trailing_field] = b"".join(trailing)
                    self._trailing = None
                return
            record, hasher, handle, pieces, field = trailing   # referenced or raw bytes
            hasher.update(event.data)
            record["length"] += len(event.data)
            if handle is not None:
                self.bulk_sink.write(handle, event.data)
            if pieces is not None:
                pieces.append(event.data)
            if event.last:
                sha = hasher.hexdigest()
                if handle is not None:
                    self.bulk_sink.finish(handle, sha)
                if pieces is not None:
                    del record["length"]
                    record["data"] = b"".join(pieces)
                else:
                    record["sha256"] = sha
                if field is not None:
                    self.wire[field] = record
                self._trailing = None
            return
        ds, tag, vr, offset, length, hasher, chunks, handle, got = pending
        got = pending[8] = got + len(event.data)
        hasher.update(event.data)
        if chunks is not None:
            chunks.extend(event.data)   # (grows in place: no list of pieces to join)
        if handle is not None:
            self.bulk_sink.write(handle, event.data)
        if not event.last:
            return
        self._pending = None
        sha = hasher.hexdigest()
        if handle is not None:
            self.bulk_sink.finish(handle, sha)
        if got != length:                   # cut by the end of the input
            self._fact(ds.key(tag), "length", length)
        if chunks is not None:
            if type(chunks) is inplace.Filling:
                data = chunks.take()    # the value's own object: its only copy
            else:
                data = bytes(chunks)
                chunks.clear()          # one copy of the value at a time, at most two
            value, facts = values.decode(vr, data, ds.little, ds.charsets.for_tag(tag))
            if facts:
                for name, fact in facts.items():
                    self._fact(ds.key(tag), name, fact)
            if value is data and type(data) is IonPyBytes:     # annotated in place
                data.ion_type, data.ion_annotations = IonType.BLOB, (vr,)
                del data
                self._add(ds, tag, vr, value, annotated=False)
            else:
                del data
                self._add(ds, tag, vr, value)
        else:
            self._add(ds, tag, vr, {"dataOffset": offset, "length": got, "sha256": sha})

    # -- sequences -------------------------------------------------------------
    def _sequence_start(self, event: SequenceStart) -> None:
        ds = self._stack[-1]
        tag = event.tag
        ds.note(tag)
        key = ds.key(tag)
        self._header_facts(key, event)
        inner = Context(ds.explicit, ds.little).inside(event.vr, event.length)
        header = header_size(ds.explicit, event.vr, event.raw_vr)
        annotated = bool(tag & 0x10000) or event.vr != dictionary_vr(tag)
        self._stack.append(_Sequence(tag, event.vr, key, event.length, event.offset, header,
                                     inner.explicit, inner.little, ds, annotated))
        if not (event.vr == "UN" and event.length == UNDEFINED):
            # (a UN sequence is always written with undefined length)
            self._seq_lengths.append((key, event.length == UNDEFINED))

    def _item_start(self, event: ItemStart) -> None:
        seq = self._stack[-1]
        index = len(seq.items)
        seq.item_start = (event.offset, event.length)
        item_key = f"{seq.key}/{index}"
        self._item_lengths.append((item_key, event.length == UNDEFINED))
        self._stack.append(_DataSet(item_key + "/", seq.parent.charsets.item(seq.tag),
                                    seq.explicit, seq.little))

    def _item_end(self, event: ItemEnd) -> None:
        ds = self._stack.pop()
        seq = self._stack[-1]
        item_key = ds.prefix[:-1]
        start, length = seq.item_start
        if length != UNDEFINED and (event.offset - start - 8 != length or event.truncated):
            self._items.setdefault(item_key, {})["length"] = length
        if event.length:
            self._items.setdefault(item_key, {})["delimiterLength"] = event.length
        if event.truncated:
            self._items.setdefault(item_key, {})["truncated"] = True
        self._finish_data_set(ds)
        seq.items.append(self._struct(ds))

    def _sequence_end(self, event: SequenceEnd) -> None:
        seq = self._stack.pop()
        if seq.length != UNDEFINED and (event.offset - seq.offset - seq.header != seq.length
                                        or event.truncated):
            self._fact(seq.key, "length", seq.length)
        if event.length:
            self._fact(seq.key, "delimiterLength", event.length)
        if event.truncated:
            self._fact(seq.key, "truncated", True)
        value = seq.items
        ds = seq.parent
        self._add(ds, seq.tag, seq.vr, value, annotated=seq.annotated)

    # -- encapsulated pixel data ---------------------------------------------------
    def _fragments_start(self, event: FragmentsStart) -> None:
        ds = self._stack[-1]
        tag = event.tag
        ds.note(tag)
        key = ds.key(tag)
        self._header_facts(key, event)
        single = dictionary_vr(tag)
        annotated = bool(tag & 0x10000) or not (
            event.vr == single or (event.vr == "OB" and single is None))
        data_offset = event.offset + header_size(ds.explicit, event.vr, event.raw_vr)
        frag = _Fragments(tag, event.vr, key, event.offset, data_offset, ds, annotated)
        self._stack.append(frag)

    def _fragment(self, event: Fragment) -> None:
        frag = self._stack[-1]
        frag.hash.update(item_header(ITEM, event.length, True))
        frag.length += 8 + (event.length if event.value is None else len(event.value))
        if frag.bot is None:
            if event.value is None:
                frag.current = [None, [], event.length]
                self._pending = frag
                return
            if len(event.value) != event.length:     # cut by the end of the input
                self._fact(frag.key, "offsetTableLength", event.length)
            frag.bot = event.value
            frag.hash.update(event.value)
            return
        if frag.first is None:
            frag.first = event.offset
        record = {"offset": event.offset - frag.first, "position": event.offset + 8,
                  "length": event.length}
        frag.heads.append(event.value[:HEAD] if event.value is not None else None)
        if event.value is not None:
            if len(event.value) != event.length:     # cut by the end of the input
                record["dataLength"] = len(event.value)
            self._fragment_done(frag, record, event.value, hashlib.sha256(event.value).hexdigest())
            return
        handle = self.bulk_sink.begin() if self.bulk_sink else None
        pieces = None
        if self._inline_fragments:
            pieces = []
            if self.input_size is not None and event.length <= self.input_size:
                pieces = inplace.filling(bytes, event.length) or pieces
        frag.current = [record, hashlib.sha256(), handle, pieces, 0]
        self._pending = frag

    def _fragment_done(self, frag: _Fragments, record: dict, data: Optional[bytes],
                       sha: str) -> None:
        """A whole fragment: hash it into the value, store or inline it."""
        if data is not None:
            frag.hash.update(data)
            if self.bulk_sink is not None:
                self.bulk_sink.store(sha, data)
            if self._inline_fragments:
                record["data"] = data
        record["sha256"] = sha
        frag.fragments.append(record)

    def _fragment_chunk(self, frag: _Fragments, event: ValueChunk) -> None:
        frag.hash.update(event.data)
        current = frag.current
        if event.last:
            frag.length -= self._left_of(frag, current, event)
        if current[0] is None:           # a long basic offset table
            current[1].append(event.data)
            if event.last:
                frag.bot = b"".join(current[1])
                if len(frag.bot) != current[2]:
                    self._fact(frag.key, "offsetTableLength", current[2])
                frag.current = None
                self._pending = None
            return
        record, hasher, handle, pieces, got = current
        got = current[4] = got + len(event.data)
        if frag.heads[-1] is None:
            frag.heads[-1] = event.data[:HEAD]
        hasher.update(event.data)
        if handle is not None:
            self.bulk_sink.write(handle, event.data)
        if pieces is not None:
            pieces.append(event.data)
        if event.last:
            sha = hasher.hexdigest()
            if handle is not None:
                self.bulk_sink.finish(handle, sha)
            if pieces is not None:
                record["data"] = (pieces.take() if type(pieces) is inplace.Filling
                                  else b"".join(pieces))
            if got != record["length"]:          # cut by the end of the input
                record["dataLength"] = got
            record["sha256"] = sha
            frag.fragments.append(record)
            frag.current = None
            self._pending = None

    @staticmethod
    def _left_of(frag: _Fragments, current: list, event: ValueChunk) -> int:
        """Bytes a fragment's value lacks when its last chunk arrives (a cut)."""
        if current[0] is None:
            got = sum(len(c) for c in current[1]) + len(event.data)
            return current[2] - got
        return current[0]["length"] - current[4] - len(event.data)

    def _fragments_end(self, event: FragmentsEnd) -> None:
        frag = self._stack.pop()
        if event.truncated:
            self._fact(frag.key, "truncated", True)
        else:
            frag.hash.update(item_header(SEQUENCE_END, event.length, True))
            frag.length += 8
        if event.length:
            self._fact(frag.key, "delimiterLength", event.length)
        bot = frag.bot if frag.bot is not None else b""
        if frag.bot is None:
            self._fact(frag.key, "noOffsetTable", True)
        if len(bot) % 4:
            table = bot
        else:
            table = [_BOT.unpack_from(bot, i)[0] for i in range(0, len(bot), 4)]
        value = {
            "dataOffset": frag.data_offset,
            "length": frag.length,
            "sha256": frag.hash.hexdigest(),
            "encapsulatedPixelData": True,
            "basicOffsetTable": table,
            "fragments": frag.fragments,
        }
        frames = frame_map(table if isinstance(table, list) else None,
                           [f["offset"] for f in frag.fragments],
                           1 if frag.parent.frames is None else frag.parent.frames,
                           extended=frag.parent.extended, heads=frag.heads)
        if frames is not None:
            value["frames"] = frames
        self._add(frag.parent, frag.tag, frag.vr, value, annotated=frag.annotated)

    # -- the end -----------------------------------------------------------------
    def _trailing_start(self, event: Trailing) -> None:
        field = "afterDeflate" if "deflate" in self.wire else "trailing"
        if event.value is not None:
            self.wire[field] = event.value
        elif field == "trailing" and not self.limits.everything:
            # long: referenced like a long value, never held (afterDeflate, whose
            # offsets count file bytes, stays inline)
            self._trailing = ({"dataOffset": event.offset, "length": 0}, hashlib.sha256(),
                              self.bulk_sink.begin() if self.bulk_sink else None, None, field)
        else:
            self._trailing = []
            self._trailing_field = field

    # -- a salvage read ------------------------------------------------------------
    def _damage(self, event: Damage) -> None:
        self.damage.append({"offset": event.offset,
                            "path": "/".join(format_tag(t) for t in event.path),
                            "kind": event.kind, "message": event.message})
        if event.kind == "truncated":
            # the next element may be cut short: only it takes the slow path
            self._dispatch[Element] = self._cut_element

    def _cut_element(self, event: Element) -> None:
        """An element after a truncation report: a value shorter than its
        length keeps the declared length as a fact."""
        self._dispatch[Element] = self._element
        self._element(event)
        if event.value is not None and len(event.value) != event.length:
            self._fact(self._stack[-1].key(event.tag), "length", event.length)

    def _unparsed_bytes(self, event: Unparsed) -> None:
        """Raw bytes where they stand: the container's wire path, how many
        elements, items or fragments come before them there, the bytes."""
        top = self._stack[-1]
        if isinstance(top, _DataSet):
            at, index = top.prefix[:-1], len(top.tags)
        elif isinstance(top, _Sequence):
            at, index = top.key, len(top.items)
        else:
            at, index = top.key, len(top.fragments) + (top.bot is not None)
        record = {"at": at, "index": index}
        if self._in_meta and len(self._stack) == 1:
            record["meta"] = True
        record["dataOffset"] = event.offset
        self._unparsed.append(record)
        data = event.value
        limit = self.limits.limit_for(0)
        if data is not None:
            if limit is None or len(data) <= limit:
                record["data"] = data
                return
            sha = hashlib.sha256(data).hexdigest()
            if self.bulk_sink is not None:
                self.bulk_sink.store(sha, data)
            record["length"] = len(data)
            record["sha256"] = sha
            return
        record["length"] = 0
        self._trailing = (record, hashlib.sha256(),
                          self.bulk_sink.begin() if self.bulk_sink else None,
                          [] if limit is None else None, None)

    def _deflate(self, event: DeflateInfo) -> None:
        deflate = {"dataOffset": event.offset, "length": event.length, "sha256": event.sha256}
        if event.level is not None:
            deflate["level"] = event.level
        elif event.raw is not None:
            # no zlib level reproduces the stream: keep its bytes where asked
            if self.bulk_sink is not None:
                self.bulk_sink.store(event.sha256, event.raw)
            if self.limits.everything:
                deflate["data"] = event.raw
        self.wire["deflate"] = deflate

    def _end(self, event: End) -> None:
        ds = self._stack.pop()
        self._finish_data_set(ds)
        self.data_set = self._struct(ds)
        wire = self.wire
        seq_default = _majority(self._seq_lengths)
        item_default = _majority(self._item_lengths)
        if seq_default:
            wire["sequenceLength"] = "undefined"
        if item_default:
            wire["itemLength"] = "undefined"
        for key, undefined in self._seq_lengths:
            if undefined != seq_default:
                self._fact(key, "undefinedLength", undefined)
        for key, undefined in self._item_lengths:
            if undefined != item_default:
                self._items.setdefault(key, {})["undefinedLength"] = undefined
        if self._elements:
            wire["elements"] = self._elements
        if self._items:
            wire["items"] = self._items
        if self._orders:
            wire["order"] = self._orders
        if self._unparsed:
            wire["unparsed"] = self._unparsed

    def _finish_data_set(self, ds: _DataSet) -> None:
        if not ds.in_order:
            self._orders[ds.prefix[:-1]] = ["%08X" % t for t in ds.tags]

    @staticmethod
    def _struct(ds: _DataSet):
        fields = ds.fields
        fields.sort(key=_first)
        if ds.seen:
            out = IonPyDict()
            for _, name, value in fields:
                out.add_item(name, value)
            return out
        return {name: value for _, name, value in fields}


_first = operator.itemgetter(0)


def _majority(records: list) -> bool:
    """True when most sequences (or items) had undefined length."""
    undefined = sum(1 for _, u in records if u)
    return undefined * 2 > len(records)
