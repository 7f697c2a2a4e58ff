"""Where ``engine.process`` runs: in this process, or in a pool of processes.

Each executor has ``map(tasks, progress) -> iterator of rows`` and
``close(cancel)`` (see ``engine``'s docstring for the contract). A new
executor plugs in with ``register(name, factory)``; ``factory(jobs=N,
**options)`` returns it, and ``make(name, ...)`` is what the CLI calls for
``--engine name``. A factory may be given as ``"module:attribute"`` so that
its imports happen only when it is chosen.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import os
import signal
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Union

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


def _run_group(tasks: List[Task]) -> List[Row]:
    return process_group(tasks, _report)


class ProcessExecutor:
    """A pool of ``jobs`` worker processes. Small files travel in groups
    (up to ``group_files`` files or ``group_bytes`` bytes); at most
    ``4 * jobs`` groups are queued at a time, so memory stays bounded for
    millions of files. Progress inside files comes through shared memory."""

    def __init__(self, jobs: int = 0, *, group_files: int = 8, group_bytes: int = 16 << 20,
                 **_options):
        import multiprocessing

        self.jobs = jobs if jobs and jobs > 0 else default_jobs()
        self.group_files = group_files
        self.group_bytes = group_bytes
        context = multiprocessing.get_context("spawn" if os.name != "posix" else "fork")
        self._slots = context.Array("q", [-1, 0] * self.jobs, lock=False)
        counter = context.Value("i", 0)
        self._pool = cf.ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                            initializer=_worker_start,
                                            initargs=(self._slots, counter))

    def _groups(self, tasks: Iterable[Task]) -> Iterator[List[Task]]:
        group: List[Task] = []
        size = 0
        for task in tasks:
            group.append(task)
            size += task.size
            if len(group) >= self.group_files or size >= self.group_bytes:
                yield group
                group, size = [], 0
        if group:
            yield group

    def map(self, tasks: Iterable[Task], progress) -> Iterator[Row]:
        groups = self._groups(tasks)
        running: Dict[cf.Future, List[Task]] = {}
        window = 4 * self.jobs
        exhausted = False
        while True:
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
            for future in done:
                group = running.pop(future)
                try:
                    rows = future.result()
                except cf.process.BrokenProcessPool as exc:
                    raise RuntimeError(f"a worker process died ({exc})") from None
                yield from rows

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
        self._pool.shutdown(wait=True, cancel_futures=cancel)


def _pool_or_serial(jobs: int = 0, **options):
    jobs = jobs if jobs and jobs > 0 else default_jobs()
    if jobs == 1:
        return SerialExecutor(**options)
    return ProcessExecutor(jobs, **options)


register("process", _pool_or_serial)
register("serial", SerialExecutor)
