"""Where ``engine.process`` runs: in this process, or in a pool of processes.

Each executor has ``map(tasks, progress) -> iterator of rows`` and
``close(cancel)`` (see ``engine``'s docstring for the contract). A new
executor plugs in with ``register(name, factory)``; ``factory(jobs=N,
**options)`` returns it, and ``make(name, ...)`` is what the CLI calls for
``--engine name``. A factory may be given as ``"module:attribute"`` so that
its imports happen only when it is chosen.
"""

from __future__ import annotations

import importlib
import os
import signal
from typing import Callable, Dict, Iterable, Iterator, List, Union

from .engine import Row, Task, process, process_group

_FACTORIES: Dict[str, Union[str, Callable]] = {}


def register(name: str, factory: Union[str, Callable]) -> None:
    """Make ``--engine name`` available."""
    _FACTORIES[name] = factory


def names() -> List[str]:
    return sorted(_FACTORIES)


def make(name: str, *, jobs: int, **options):
    """The executor called ``name`` (ValueError when there is none)."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown engine {name!r} (choose from {', '.join(names())})")
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    return factory(jobs=jobs, **options)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class SerialExecutor:
    """Runs every task here, one after another (``--jobs 1``)."""

    works_elsewhere = False

    def __init__(self, jobs: int = 1, **_options):
        pass

    def map(self, tasks: Iterable[Task], progress) -> Iterator[Row]:
        for task in tasks:
            yield process(task, progress)

    def close(self, cancel: bool = False) -> None:
        pass


# -- the process pool -------------------------------------------------------------------

_SLOTS = None     # in a worker: the shared progress array and this worker's slot
_SLOT = -1


def _stop_on_term(signum, frame):
    raise SystemExit(128 + signum)


def _worker_start(slots, counter) -> None:
    global _SLOTS, _SLOT
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the client decides about Ctrl-C
    signal.signal(signal.SIGTERM, _stop_on_term)     # cleanup runs (``with``, finally)
    with counter.get_lock():
        _SLOT = counter.value
        counter.value += 1
    _SLOTS = slots


def _report(seq: int, count: int) -> None:
    slots = _SLOTS
    if slots is not None and 0 <= _SLOT < len(slots) // 2:
        slots[2 * _SLOT] = seq
        slots[2 * _SLOT + 1] = count


def _lost(task: Task) -> Row:
    """The row of a task whose worker process died (killed, out of memory)."""
    from .engine import empty_row

    row = empty_row(task)
    row.update(status="failed", output=None,
               error=f"{task.source}: the worker process died while this file was in "
                     "flight (killed, or out of memory?); run again to retry")
    return row


def _run_group(tasks: List[Task]) -> List[Row]:
    return process_group(tasks, _report)


class ProcessExecutor:
    """A pool of ``jobs`` worker processes. Small files travel in groups
    (up to ``group_files`` files or ``group_bytes`` bytes); at most
    ``4 * jobs`` groups are queued at a time, so memory stays bounded for
    millions of files. Progress inside files comes through shared memory."""

    works_elsewhere = True      # (this process only waits: see engine.run_batch)

    def __init__(self, jobs: int = 0, *, group_files: int = 8, group_bytes: int = 16 << 20,
                 **_options):
        import multiprocessing

        self.jobs = jobs if jobs and jobs > 0 else default_jobs()
        self.group_files = group_files
        self.group_bytes = group_bytes
        context = multiprocessing.get_context("spawn" if os.name != "posix" else "fork")
        self._slots = context.Array("q", [-1, 0] * self.jobs, lock=False)
        self._context = context
        self._running: Dict[cf.Future, List[Task]] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        import concurrent.futures as cf   # (here, not at start-up: --jobs 1 needs no pool)

        counter = self._context.Value("i", 0)
        return cf.ProcessPoolExecutor(max_workers=self.jobs, mp_context=self._context,
                                      initializer=_worker_start,
                                      initargs=(self._slots, counter))

    def _groups(self, tasks: Iterable[Task]) -> Iterator[List[Task]]:
        """Groups of up to ``group_files`` files or ``group_bytes`` bytes; when
        the tasks are a list, also of at most a ``2 * jobs``-th of the files
        and bytes not yet handed out, so that the last groups are small and
        no worker waits long for another to finish."""
        known = isinstance(tasks, (list, tuple))
        files_left = len(tasks) if known else 0
        bytes_left = sum(task.size for task in tasks) if known else 0
        share = 2 * self.jobs
        group: List[Task] = []
        size = 0
        max_files, max_bytes = self.group_files, self.group_bytes
        for task in tasks:
            if not group and known:
                max_files = max(1, min(self.group_files, files_left // share))
                max_bytes = max(1, min(self.group_bytes, bytes_left // share))
            group.append(task)
            size += task.size
            if len(group) >= max_files or size >= max_bytes:
                files_left -= len(group)
                bytes_left -= size
                yield group
                group, size = [], 0
        if group:
            yield group

    def map(self, tasks: Iterable[Task], progress) -> Iterator[Row]:
        """Groups run in parallel. When a worker dies (killed, out of memory),
        the pool is replaced and the tasks that were in flight run again one
        at a time; a task that kills its worker alone gets a failed row."""
        import collections
        import concurrent.futures as cf

        groups = self._groups(tasks)
        running: Dict[cf.Future, List[Task]] = self._running
        solo: set = set()
        retry: collections.deque = collections.deque()
        window = 4 * self.jobs
        exhausted = False
        while True:
            if retry:
                if not running:
                    group = [retry.popleft()]
                    future = self._pool.submit(_run_group, group)
                    running[future] = group
                    solo.add(future)
            else:
                while not exhausted and len(running) < window:
                    group = next(groups, None)
                    if group is None:
                        exhausted = True
                        break
                    running[self._pool.submit(_run_group, group)] = group
            if not running:
                return
            done, _ = cf.wait(running, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            if progress is not None:
                live = {t.seq for g in running.values() for t in g}
                slots = self._slots
                for i in range(0, len(slots), 2):
                    if slots[i] in live:
                        progress(slots[i], slots[i + 1])
            broken = False
            for future in done:
                group = running.pop(future)
                try:
                    rows = future.result()
                except cf.process.BrokenProcessPool:
                    broken = True
                    if future in solo:
                        rows = [_lost(task) for task in group]
                    else:
                        retry.extend(group)
                        rows = []
                solo.discard(future)
                yield from rows
            if broken:
                for future, group in running.items():
                    if future in solo:
                        yield from (_lost(task) for task in group)
                    else:
                        retry.extend(group)
                running.clear()
                solo.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def close(self, cancel: bool = False) -> None:
        if cancel:
            processes = list(getattr(self._pool, "_processes", {}).values() or ())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                try:
                    proc.terminate()
                except (OSError, AttributeError):
                    pass
            for proc in processes:
                try:
                    proc.join(timeout=10)
                except (OSError, AssertionError):
                    pass
            self._sweep([p.pid for p in processes])
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def _sweep(self, pids: List[int]) -> None:
        """Temporary files of workers stopped mid-write (normally they remove
        their own; this covers a worker killed between two instructions)."""
        from .bulk import PART_PREFIX
        from .outputs import TEMP_PREFIX, sweep

        folders = set()
        for group in self._running.values():
            for task in group:
                if task.output and task.output != "-":
                    folders.add((os.path.dirname(task.output), TEMP_PREFIX))
                bulk = task.option("bulk_dir")
                if isinstance(bulk, str):
                    folders.add((bulk, PART_PREFIX))
        for folder, prefix in folders:
            for pid in pids:
                sweep(folder, prefix, pid)


def _pool_or_serial(jobs: int = 0, **options):
    jobs = jobs if jobs and jobs > 0 else default_jobs()
    if jobs == 1:
        return SerialExecutor(**options)
    return ProcessExecutor(jobs, **options)


register("process", _pool_or_serial)
register("serial", SerialExecutor)
register("dask", "dicom2ion.dask_executor:DaskExecutor")   # pip install 'dicom2ion[dask]'
