"""Worker processes that run a function over chunks and give the results back in input order.

Used by the ``dedup`` command (the within-document pass) and by
:class:`dedup.Deduplicator` with ``workers`` (the alignment stage of the across pass)."""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

# The kind of item that OrderedPool.run hands back only when all before it is done, and
# before it takes anything after it.
BARRIER = "barrier"


# How long a failed run waits for its workers to stop before killing them.
_STOP_SECONDS = 5.0

# How often a wait for a result checks that the workers still run (see _result).
_WORKER_CHECK_SECONDS = 1.0

# How often a worker checks that the process that started it still runs.
_PARENT_CHECK_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


# Signals whose Python handlers only the parent may run: Ctrl-C's KeyboardInterrupt, and
# the command's handler of SIGTERM.
_PARENT_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _init_worker(parent: int) -> None:
    # The main process handles Ctrl-C and terminates the pool; workers stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # held back since the fork (see _WorkerProcess)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _PARENT_SIGNALS)
    end_with_parent(parent)


class _WorkerProcess(multiprocessing.context.ForkProcess):
    """A worker forked with SIGINT and SIGTERM held back until it has handlers of its own
    (``_init_worker``). One arriving in between (a Ctrl-C, or a stop, while workers start)
    would run the parent's handler in the child, which raises inside ``os.fork()`` there
    and unwinds the parent's code (its clean-up: outputs removed, locks let go) as if it
    were the parent."""

    def start(self) -> None:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _PARENT_SIGNALS)
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _WorkerContext(multiprocessing.context.ForkContext):
    """The fork start method, with workers started as :class:`_WorkerProcess`."""

    Process = _WorkerProcess


def end_with_parent(parent: int) -> None:
    """End this process when process ``parent`` ends, however it ends (also ``kill -9``).

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``).
    Everywhere, a daemon thread also checks every second that this process was not
    re-parented (the parent's PID no longer ours), which covers other systems and a
    parent that died before the request was made.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)  # the running program's symbols: libc's prctl
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still ends the worker
    if os.getppid() != parent:  # died before the request: nobody will send the signal
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="dedup-parent-watchdog", daemon=True).start()


class ChunkFailed(Exception):
    """Processing a chunk of records raised: says which records, keeps the original error."""

    def __init__(self, records: Any, error: BaseException) -> None:
        where = ""
        # Records of the command's input (``dedup.cli.records.Record``) are named by file and line.
        if isinstance(records, list) and records and hasattr(records[0], "line") and hasattr(records[0], "source"):
            first, last = records[0], records[-1]
            lines = f"{first.line}" if first.line == last.line else f"{first.line}-{last.line}"
            where = f" in records {first.source}:{lines}" if first.source == last.source else f" from {first.source}"
        super().__init__(f"processing failed{where}: {type(error).__name__}: {error}")


def _running(processes: list, timeout: float) -> list:
    """Those of ``processes`` that have not ended within ``timeout`` seconds (``multiprocessing``
    processes, told by their sentinels: whichever thread reaps them, or none yet)."""
    deadline = time.monotonic() + max(timeout, 0.0)
    running = list(processes)
    while running:
        ended = multiprocessing.connection.wait([p.sentinel for p in running], max(deadline - time.monotonic(), 0.0))
        running = [process for process in running if process.sentinel not in ended]
        if not ended:
            break
    return running


def _result(future: Any, executor: ProcessPoolExecutor | ThreadPoolExecutor) -> Any:
    """``future.result()``, or ``BrokenProcessPool`` when one of ``executor``'s worker
    processes has ended and the result is still missing a check later.

    The executor's manager thread reports a worker that died, but not one killed while it
    was sending a result (by the system, for lack of memory): it then waits for the rest of
    the message, and the other workers for the pipe's lock the dead one held, for ever.
    Either way the run fails the same (its workers are stopped by ``close``)."""
    dead_seen = False
    while True:
        processes = list((getattr(executor, "_processes", None) or {}).values())
        try:
            return future.result(timeout=_WORKER_CHECK_SECONDS if processes else None)
        except TimeoutError:
            if len(_running(processes, 0.0)) == len(processes):
                dead_seen = False
            elif dead_seen:  # the manager thread had a whole check's time to report it
                raise BrokenProcessPool("a worker process ended while the result of its chunk was awaited") from None
            else:
                dead_seen = True


class OrderedPool:
    """Runs a function over chunks in worker processes and yields the results in input order.

    A few chunks are in flight at most (see :meth:`run`), so memory stays bounded on any
    input size. ``route(payload)``, when given, names the worker a chunk runs on (taken
    modulo ``jobs``; None: the least busy), so that chunks that need the same cached data
    meet it in one worker.
    With ``jobs == 1`` the function runs in this process: the same code, the same output
    (with ``in_thread``, in one thread beside the caller's, ``ahead`` chunks at most; the
    caller runs the chunks the thread has not started while it waits for one).
    A worker that dies (e.g. killed for lack of memory) fails the run instead of hanging it,
    and workers end when the main process dies, even by ``kill -9`` (:func:`end_with_parent`).
    """

    def __init__(
        self,
        function: Callable,
        jobs: int,
        route: Callable[[Any], int | None] | None = None,
        *,
        in_thread: bool = False,
    ) -> None:
        self.function = function
        self.jobs = jobs
        self._route = route
        self._executors: list[ProcessPoolExecutor | ThreadPoolExecutor] = []
        self._in_flight: list[int] = []  # chunks sent to each executor and not yet handed back
        # In a thread: the payloads of chunks submitted and not started, which the caller
        # may run itself while it waits (see _help_while_waiting).
        self._not_started: dict[Future, Any] | None = None
        if jobs == 1 and in_thread:
            # In this process, in one thread beside the caller's: what the function does
            # without the interpreter lock (NumPy's sorts and passes over arrays, zlib)
            # overlaps the caller's work between chunks.
            self._executors = [ThreadPoolExecutor(1, thread_name_prefix="dedup-chunks")]
            self._in_flight = [0]
            self._not_started = {}
        if jobs > 1:
            # Warm the tokenizer up here (what its first call builds: powers of its hash,
            # the folds of the first code points): forked workers share it.
            from .text import tokenize

            tokenize(["warm up"])
            methods = multiprocessing.get_all_start_methods()
            context = _WorkerContext() if "fork" in methods else multiprocessing.get_context("spawn")
            # With ``route``, one executor per worker, so that a chunk goes to the worker
            # ``route(payload) % jobs`` (which keeps in its caches what the chunk needs);
            # otherwise one executor whose free workers take the next chunk.
            self._executors = [
                ProcessPoolExecutor(size, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),))
                for size in ([1] * jobs if route is not None else [jobs])
            ]
            self._in_flight = [0] * len(self._executors)

    def _submit(self, payload: Any) -> tuple[Any, int]:
        """Send ``payload`` to a worker: its route's, else the least busy; (future, executor)."""
        where = self._route(payload) if self._route is not None else None
        if where is None:
            where = min(range(len(self._executors)), key=self._in_flight.__getitem__)
        else:
            where %= len(self._executors)
        future = self._executors[where].submit(self.function, payload)
        self._in_flight[where] += 1
        if self._not_started is not None:
            self._not_started[future] = payload
        return future, where

    def run(self, items: Iterable[tuple[str, Any, Any]], ahead: int = 1) -> Iterator[tuple[str, Any, Any]]:
        """``items`` are (kind, payload, context); for kind "chunk" the result replaces the payload.

        At most ``ahead * jobs`` chunks are in flight before the oldest result is waited
        for. One per worker suits items read from input that may be slow to come (what was
        read comes out); more keep the workers busy while this process does other work
        between chunks, at the cost of holding back results that are ready.

        An item of kind ``BARRIER`` is yielded once everything before it is, and no item
        after it is taken from ``items`` until it has been yielded (and the caller asks
        for the next): the caller sees the state of things exactly at the barrier.
        """
        window = max(ahead, 1) * self.jobs
        pending: deque = deque()  # (kind, payload or (future, executor), context)
        in_flight = 0
        for kind, payload, context in items:
            if kind == BARRIER:
                while pending:
                    yield self._resolve(pending.popleft(), pending)
                in_flight = 0
                yield kind, payload, context
                continue
            if kind == "chunk" and self._executors:
                try:
                    payload = self._submit(payload)
                except Exception as error:
                    raise ChunkFailed(context, error) from error
                in_flight += 1
            pending.append((kind, payload, context))
            # With every worker busy, the oldest result is waited for before more input
            # is read: what was read comes out without waiting for input that may be slow.
            while pending and (in_flight >= window or self._ready(pending[0])):
                item = self._resolve(pending.popleft(), pending)
                in_flight -= item[0] == "chunk" and bool(self._executors)
                yield item
        while pending:
            yield self._resolve(pending.popleft(), pending)

    def _ready(self, item: tuple) -> bool:
        kind, payload, _ = item
        return kind != "chunk" or not self._executors or payload[0].done()

    def _resolve(self, item: tuple, pending: deque | None = None) -> tuple:
        kind, payload, context = item
        if kind != "chunk":
            return item
        try:
            if not self._executors:
                return kind, self.function(payload), context
            future, where = payload
            if self._not_started is not None:
                self._not_started.pop(future, None)
                if pending:
                    self._help_while_waiting(future, pending)
            self._in_flight[where] -= 1
            return kind, _result(future, self._executors[where]), context
        except Exception as error:
            raise ChunkFailed(context, error) from error

    def _help_while_waiting(self, awaited: Future, pending: deque) -> None:
        """While the thread works on the ``awaited`` chunk, run the chunks after it that it
        has not started here, in the caller's thread (by the one after, in order): the
        caller would only wait, and the function lets go of the interpreter lock for much
        of its work (a stream's first passes, which nothing else overlaps, are prepared
        two at a time so). A chunk run here gets a future of its own, done, in ``pending``."""
        for at, (kind, payload, context) in enumerate(pending):
            if awaited.done():
                return
            if kind != "chunk" or payload[0] not in self._not_started or not payload[0].cancel():
                continue  # a barrier or a batch; or started, or done, by the thread
            chunk = self._not_started.pop(payload[0])
            done: Future = Future()
            try:
                done.set_result(self.function(chunk))
            except Exception as error:  # raised where its result is read, as the thread's would be
                done.set_exception(error)
            pending[at] = (kind, (done, payload[1]), context)

    def close(self, ok: bool) -> None:
        if self._not_started:
            self._not_started.clear()  # the payloads of chunks nobody will run now
        executors, self._executors = self._executors, []
        if ok:
            for executor in executors:
                executor.shutdown(wait=True)
            return
        # Stop at once: workers are busy with chunks whose results nobody will read. Every
        # wait is bounded: a worker that ignores SIGTERM is killed, and the executors'
        # manager threads (joined again at interpreter exit) get a few seconds to see
        # their workers gone.
        processes = [p for executor in executors for p in (getattr(executor, "_processes", None) or {}).values()]
        # Taken before shutdown(), which drops the executor's references to them.
        managers = [getattr(executor, "_executor_manager_thread", None) for executor in executors]
        results = [getattr(executor, "_result_queue", None) for executor in executors]
        for process in processes:
            process.terminate()
        for executor in executors:
            executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + _STOP_SECONDS
        # Waited for by their sentinels, never by their exit codes: the manager threads reap
        # workers too, and a worker one of them has just reaped reads as alive here (its
        # waitpid finds no such child) until that thread stores the code; is_alive() then
        # sent SIGKILL to a PID that may be another process's by now.
        running = _running(processes, deadline - time.monotonic())
        for process in running:
            process.kill()
        _running(running, 1.0)
        # A worker killed while it was sending a result leaves half a message in the result
        # pipe, and the executor's manager thread waits for the rest forever (and the
        # interpreter, joining it at exit, with it). Closing this process's end of the pipe,
        # which it never writes to, turns that wait into an end of file once the workers'
        # ends are gone too. Closed whatever the check above saw: skipped when a worker
        # merely seemed alive, it left the manager waiting, and the run hung at exit.
        for queue in results:
            writer = getattr(queue, "_writer", None)
            if writer is not None:
                try:
                    writer.close()
                except OSError:
                    pass
        for manager in managers:
            if manager is not None:
                manager.join(max(deadline - time.monotonic(), 1.0))
