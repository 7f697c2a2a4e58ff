"""``--engine dask``: ``engine.process`` on a Dask distributed cluster.

The same per-file function and the same rows as the process pool; only
where the work runs differs. Files travel in groups (up to ``group_files``
files or ``group_bytes`` bytes, and small enough that every worker thread
gets several groups), one Dask task per group. Rows come back to the client,
which writes the manifest. Robustness comes from the engine's contract
(outputs are atomic and bulk values content-addressed, so running a task
twice is harmless):

- a worker lost mid-run: the scheduler runs its groups again elsewhere;
- a group that still fails (it killed workers ``allowed-failures`` times,
  or raised): its files are tried one by one (each up to ``file_attempts``
  times), and a file that still fails becomes a ``failed`` row naming the
  Dask error -- never a lost file and never a traceback on the client;
- a bug inside ``process`` on a worker becomes that file's ``failed`` row.

Progress: rows arrive per group; inside a group, workers publish how far
they are through the current file (Dask's ``log_event``, at most twice a
second), so the bar moves inside large files.

Workers must see the inputs and outputs: a shared file system, or URLs
(``s3://...``) that every worker can reach. ``memory://`` lives in one
process and so works only with in-process executors.

Requires ``pip install 'dicom2ion[dask]'``; importing this module imports
``distributed``, so the package imports it only for ``--engine dask``.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import time
import uuid
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

try:
    import distributed
except ImportError:  # pragma: no cover - depends on the install
    raise ImportError("--engine dask needs Dask: pip install 'dicom2ion[dask]'") from None

from . import __version__, storage
from .engine import Row, Task, empty_row, process

GROUP_FILES = 256
GROUP_BYTES = 1_000_000_000
GROUPS_PER_THREAD = 4        # at least this many groups per worker thread, when there are files
RETRIES = 2
FILE_ATTEMPTS = 2            # tries for a file alone, after its group failed
PROGRESS_INTERVAL = 0.5      # seconds between a worker's progress events
CONNECT_TIMEOUT = 30


# -- on the worker ----------------------------------------------------------------------

class _Reporter:
    """``progress(seq, count)`` for ``process`` on a worker: sends the latest
    count for the file in hand as a Dask event, at most every interval."""

    def __init__(self, topic: str):
        self.topic = topic
        self.last = 0.0
        try:
            self.worker = distributed.get_worker()
        except ValueError:
            self.worker = None

    def __call__(self, seq: int, count: int) -> None:
        now = time.monotonic()
        if self.worker is None or now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        try:
            self.worker.log_event(self.topic, (seq, count))
        except Exception:  # progress must never break the work
            pass


_MALLOC_TUNED = False
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3        # glibc mallopt parameters


def tune_malloc() -> bool:
    """Undo, for this worker process, what Dask's nanny does to glibc malloc.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which
    also freezes glibc's mmap threshold at 128 KiB: every 1 MiB read buffer
    is then mmap'ed, page-faulted and unmapped again, and converting runs
    about 3x slower than in a plain process (measured: 0.147 s against
    0.055 s per 8 MiB file). Chunks up to 16 MiB come from the heap again
    and free memory is returned past 64 MiB, so memory stays bounded.
    Linux with glibc only; elsewhere nothing changes."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    _MALLOC_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 16 << 20)) and \
            bool(libc.mallopt(M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError):
        return False


def failed_row(task: Task, error: str) -> Row:
    row = empty_row(task)
    row["status"], row["error"], row["output"] = "failed", error, None
    return row


def run_group(tasks: List[Task], topic: Optional[str] = None) -> List[Row]:
    """One Dask task: ``process`` over a group of files, in order. An
    exception that escapes ``process`` (a bug) becomes the file's failed row."""
    tune_malloc()
    report = _Reporter(topic) if topic else None
    rows = []
    for task in tasks:
        try:
            rows.append(process(task, report))
        except Exception as exc:
            rows.append(failed_row(task, f"{task.source}: internal error on "
                                         f"{_host()}: {type(exc).__name__}: {exc}"))
    return rows


def _host() -> str:
    import socket

    return socket.gethostname()


def _worker_version() -> Tuple[str, str]:
    """On each worker at start: its dicom2ion version; also imports what
    the work needs, so that the first files do not pay for it."""
    import dicom2ion
    from . import batch, convert, outputs  # noqa: F401

    tune_malloc()
    return dicom2ion.__version__, os.path.dirname(dicom2ion.__file__)


# -- on the client ----------------------------------------------------------------------

def _quiet(name: str = "distributed") -> None:
    logging.getLogger(name).setLevel(logging.ERROR)


_TEMP_PREFIXES = (".dicom2ion-", ".part-")


def sweep_orphans(tasks: List[Task], since: float) -> List[str]:
    """Remove the temporary files that workers killed during this run left
    in the local output and bulk folders (a killed process cannot clean up;
    a live task removes its own). Called when none of the run's tasks is
    running: only files of the temporary names, made since the run began."""
    folders = set()
    for task in tasks:
        if task.output and task.output != "-" and not storage.is_url(task.output):
            folders.add(os.path.dirname(task.output))
        bulks = task.option("bulk_dir") or ()
        for bulk in [bulks] if isinstance(bulks, str) else bulks:
            if bulk and not storage.is_url(bulk):
                folders.add(os.fspath(bulk))
    removed = []
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.startswith(_TEMP_PREFIXES):
                continue
            path = os.path.join(folder, name)
            try:
                if os.stat(path).st_mtime >= since - 1:
                    os.unlink(path)
                    removed.append(path)
            except OSError:
                pass
    return removed


class DaskExecutor:
    """Runs groups of tasks on a Dask cluster.

    ``scheduler``: a scheduler address (``tcp://host:8786``) or the path of
    a scheduler file; None starts a ``LocalCluster`` of ``jobs`` worker
    processes (one thread each) on this machine and stops it at ``close``.
    """

    works_elsewhere = True      # (this process only waits: see engine.run_batch)

    work = staticmethod(run_group)      # what each Dask task runs (tests replace it)

    def __init__(self, jobs: int = 0, *, scheduler: Optional[str] = None,
                 group_files: int = GROUP_FILES, group_bytes: int = GROUP_BYTES,
                 retries: int = RETRIES, file_attempts: int = FILE_ATTEMPTS, **_options):
        from .executors import default_jobs

        _quiet()
        self.group_files = max(1, int(group_files))
        self.group_bytes = max(1, int(group_bytes))
        self.retries = retries
        self.file_attempts = max(1, int(file_attempts))
        self.cluster = None
        self.run_id = uuid.uuid4().hex[:12]
        self.topic = f"dicom2ion-progress-{self.run_id}"
        self._futures: Dict[str, distributed.Future] = {}
        try:
            if scheduler:
                if os.path.isfile(scheduler):
                    self.client = distributed.Client(scheduler_file=scheduler,
                                                     timeout=CONNECT_TIMEOUT)
                else:
                    self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
            else:
                workers = jobs if jobs and jobs > 0 else default_jobs()
                self.cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
        except OSError as exc:
            raise RuntimeError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        self._check_workers()

    def _check_workers(self) -> None:
        """Every worker must run this version of dicom2ion."""
        try:
            found = self.client.run(_worker_version)
        except Exception as exc:
            raise RuntimeError(f"the Dask workers cannot run dicom2ion ({exc}); install "
                               f"dicom2ion {__version__} where the workers run") from None
        wrong = {w: v for w, (v, _) in found.items() if v != __version__}
        if wrong:
            worker, version = next(iter(wrong.items()))
            raise RuntimeError(f"Dask worker {worker} has dicom2ion {version}, this client "
                               f"{__version__}: install the same version everywhere")

    def _threads(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    def groups(self, tasks: List[Task]) -> List[List[Task]]:
        """Consecutive tasks in groups of at most ``group_files`` files and
        about ``group_bytes`` bytes, small enough for every thread to get
        ``GROUPS_PER_THREAD`` groups."""
        if not tasks:
            return []
        per_group = min(self.group_files,
                        max(1, math.ceil(len(tasks) / (GROUPS_PER_THREAD * self._threads()))))
        out: List[List[Task]] = []
        group: List[Task] = []
        size = 0
        for task in tasks:
            if group and (len(group) >= per_group or size + task.size > self.group_bytes):
                out.append(group)
                group, size = [], 0
            group.append(task)
            size += task.size
        out.append(group)
        return out

    def map(self, tasks: Iterable[Task], progress) -> Iterator[Row]:
        tasks = list(tasks)
        # (key, files, tries): tries is 0 for a group, then 1, 2... for a file alone
        pending: List[Tuple[str, List[Task], int]] = [
            (f"dicom2ion-{self.run_id}-{i}", group, 0)
            for i, group in enumerate(self.groups(tasks))]
        pending.reverse()                    # pop() from the end keeps the input order
        window = max(8, 3 * self._threads())
        groups: Dict[str, Tuple[List[Task], int]] = {}
        finished: "queue.Queue[distributed.Future]" = queue.Queue()
        seen: Dict[int, int] = {}

        def on_progress(event) -> None:
            try:
                seq, count = event[1]
                seen[int(seq)] = int(count)
            except (TypeError, ValueError, IndexError):
                pass

        self.client.subscribe_topic(self.topic, on_progress)
        started = time.time()
        try:
            while pending or groups:
                while pending and len(groups) < window:
                    key, group, tries = pending.pop()
                    future = self.client.submit(self.work, group, self.topic, key=key,
                                                retries=self.retries, pure=False)
                    groups[key] = (group, tries)
                    self._futures[key] = future
                    future.add_done_callback(finished.put)
                try:
                    future = finished.get(timeout=0.25)
                except queue.Empty:
                    future = None
                if progress is not None and seen:
                    for seq, count in list(seen.items()):
                        progress(seq, count)
                    seen.clear()
                if future is None or future.key not in groups:
                    continue
                group, tries = groups.pop(future.key)
                self._futures.pop(future.key, None)
                rows, error = self._outcome(future)
                if rows is not None:
                    yield from rows
                elif tries == 0:
                    # find the file that fails; the others still get done
                    pending.extend((f"{future.key}-{i}", [task], 1)
                                   for i, task in reversed(list(enumerate(group))))
                elif tries < self.file_attempts:
                    # a file alone can fail for its neighbour's sake (it was queued on a
                    # worker that another file killed): give it another chance
                    pending.append((f"{future.key}-again{tries}", group, tries + 1))
                else:
                    for task in group:
                        yield failed_row(task, f"{task.source}: not processed: the Dask "
                                               f"task failed: {error}")
            sweep_orphans(tasks, started)
        finally:
            try:
                self.client.unsubscribe_topic(self.topic)
            except Exception:
                pass

    @staticmethod
    def _outcome(future) -> Tuple[Optional[List[Row]], str]:
        try:
            if future.status == "finished":
                return future.result(), ""
            exc = future.exception(timeout=CONNECT_TIMEOUT)
            return None, f"{type(exc).__name__}: {exc}" if exc else future.status
        except Exception as exc:           # cancelled, lost connection, unpicklable result
            return None, f"{type(exc).__name__}: {exc}"

    def close(self, cancel: bool = False) -> None:
        try:
            if cancel and self._futures:
                self.client.cancel(list(self._futures.values()), force=True)
            self._futures.clear()
            self.client.close(timeout=CONNECT_TIMEOUT)
        finally:
            if self.cluster is not None:
                self.cluster.close(timeout=CONNECT_TIMEOUT)
                self.cluster = None
