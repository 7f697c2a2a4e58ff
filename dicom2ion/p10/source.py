"""Adapters that feed a P10Reader from paths, bytes, file objects and
(async) iterators of chunks."""

from __future__ import annotations

import os
from typing import AsyncIterable, AsyncIterator, Iterable, Iterator, Optional, Union

from .reader import P10Reader

READ_SIZE = 1 << 20

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, Iterable[bytes], object]


def source_name(source) -> Optional[str]:
    """A printable name for a source (its path, or a file object's name)."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def _size_of(source) -> Optional[int]:
    if isinstance(source, (str, os.PathLike)):
        try:
            return os.path.getsize(source)
        except OSError:
            return None
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    return None


def _chunks(source, read_size: int) -> Iterator[bytes]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            yield from iter(lambda: fp.read(read_size), b"")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for i in range(0, len(data), read_size):
            yield data[i:i + read_size]
    elif hasattr(source, "read"):
        yield from iter(lambda: source.read(read_size), b"")
    else:
        yield from source


class EventStream:
    """Iterates the events of a P10 source; ``reader.sha256`` and
    ``reader.size`` describe the whole input once iteration ends."""

    def __init__(self, source, *, read_size: int = READ_SIZE, **reader_options):
        reader_options.setdefault("name", source_name(source))
        reader_options.setdefault("total_size", _size_of(source))
        self.reader = P10Reader(**reader_options)
        self._source = source
        self._read_size = read_size

    def __iter__(self) -> Iterator[object]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list]:
        """The events in lists, as ``P10Reader.batches`` gives them."""
        reader = self.reader
        for chunk in _chunks(self._source, self._read_size):
            reader.feed(chunk)
            yield from reader.batches()
        reader.close()
        yield from reader.batches()


def iter_events(source, **options) -> EventStream:
    """Events of a path, bytes, binary file object or iterable of chunks."""
    return EventStream(source, **options)


class AsyncEventStream:
    """Async counterpart of EventStream for an async iterable of chunks."""

    def __init__(self, source: AsyncIterable[bytes], **reader_options):
        self.reader = P10Reader(**reader_options)
        self._source = source

    async def __aiter__(self) -> AsyncIterator[object]:
        reader = self.reader
        async for chunk in self._source:
            reader.feed(chunk)
            for event in reader.events():
                yield event
        reader.close()
        for event in reader.events():
            yield event


def aiter_events(source: AsyncIterable[bytes], **options) -> AsyncEventStream:
    """Events of an async iterable of byte chunks."""
    return AsyncEventStream(source, **options)
