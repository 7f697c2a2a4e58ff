"""SHA-256 that can run beside the main work: big files are hashed twice
(the whole file, and each referenced value), and hashlib releases the GIL
on large buffers, so a second thread takes one of the two off the path."""

from __future__ import annotations

import hashlib
import queue
import threading

THREAD_THRESHOLD = 2 << 20   # below this many bytes a thread costs more than it saves


class BackgroundSha256:
    """``update`` hands chunks to a worker thread; ``hexdigest`` waits for it."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="dicom2ion-sha256", daemon=True)
        self._thread.start()
        self._digest = None

    def _run(self) -> None:
        update = self._hash.update
        get = self._queue.get
        while True:
            data = get()
            if data is None:
                return
            update(data)

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def hexdigest(self) -> str:
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = self._hash.hexdigest()
        return self._digest


def sha256_for(expected_size) -> object:
    """A hashlib-like sha256: threaded when the input is known to be large."""
    if expected_size is not None and expected_size >= THREAD_THRESHOLD:
        return BackgroundSha256()
    return hashlib.sha256()


class HashingWriter:
    """Hashes and counts what is written; small writes are gathered first."""

    _GATHER = 1 << 16

    def __init__(self, fp, expected_size=None):
        self.fp = fp
        self.hash = sha256_for(expected_size)
        self.size = 0
        self._pending = bytearray()

    def write(self, data):
        if len(data) < self._GATHER:
            self._pending += data
            if len(self._pending) >= self._GATHER:
                self._flush_pending()
        else:
            self._flush_pending()
            self._emit(data)
        return len(data)

    def _emit(self, data) -> None:
        self.hash.update(data)
        self.size += len(data)
        self.fp.write(data)

    def _flush_pending(self) -> None:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._emit(data)

    def flush(self):
        self._flush_pending()
        if hasattr(self.fp, "flush"):
            self.fp.flush()
