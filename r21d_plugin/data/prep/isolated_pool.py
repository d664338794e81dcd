"""A pool of worker processes in which a native crash fails one task, not the run.

Decoders can crash in native code (decord segfaults on some truncated AVI files). The
offline tools (dataset check, flow extraction) run each file in a worker process: a crash
marks the file it was on as bad, the worker is replaced, and the others go on.
"""
import multiprocessing
import multiprocessing.connection
import os
import signal
from typing import Callable, Iterator, Optional, Sequence, Tuple

from ..samples import exception_summary


class EntryProblem(ValueError):
    """What makes an entry bad, found by the check itself rather than raised by a decoder."""


def _worker(connection, function: Callable) -> None:
    # Decoders print to stderr (ffmpeg's log, decord's errors with the raw bytes of the file
    # in them); the verdicts say what matters, so keep the terminal for the progress bar.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    while True:
        task = connection.recv()
        if task is None:
            return
        index, argument = task
        try:
            outcome = (function(argument), None)
        except EntryProblem as exc:
            outcome = (None, str(exc))
        except Exception as exc:  # every decoder failure is a verdict on the entry
            outcome = (None, f'cannot decode ({exception_summary(exc)}): corrupt, truncated '
                             'or not a video')
        connection.send((index, outcome))


def crash_reason(exitcode: Optional[int]) -> str:
    """Why a decoding process ended: 'the decoder crashed (SIGSEGV)', or its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f'the decoder crashed ({signal.Signals(-exitcode).name})'
        except ValueError:
            pass
    return f'the decoder process died (exit code {exitcode})'


def map_isolated(function: Callable, arguments: Sequence, workers: int,
                 start_method: Optional[str] = None
                 ) -> Iterator[Tuple[int, object, Optional[str]]]:
    """Yield ``(index, result, problem)`` for ``function(arguments[index])``, in any order.

    Each call runs in one of ``workers`` processes. An exception gives its one-line summary
    as ``problem``; a process that dies (a native crash) gives the crash as ``problem`` for
    the argument it was on, and is replaced. ``start_method`` overrides the default
    ('fork' where available, else 'spawn'), e.g. 'forkserver' for work that uses threads.
    """
    # fork starts a worker in milliseconds; spawn would re-import torch and MMAction2 in each.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context(
        start_method or ('fork' if 'fork' in methods else 'spawn'))
    pending = list(reversed(range(len(arguments))))
    busy = {}  # connection -> (process, index)

    def start_worker():
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, function), daemon=True)
        process.start()
        child.close()
        return process, parent

    def give_task(process, connection):
        index = pending.pop()
        connection.send((index, arguments[index]))
        busy[connection] = (process, index)

    idle = [start_worker() for _ in range(min(workers, len(arguments)))]
    try:
        while pending or busy:
            while pending and idle:
                give_task(*idle.pop())
            by_sentinel = {process.sentinel: connection
                           for connection, (process, _) in busy.items()}
            for ready in multiprocessing.connection.wait(list(busy) + list(by_sentinel)):
                connection = by_sentinel.get(ready, ready)
                if connection not in busy:
                    continue  # both its pipe and its sentinel were ready
                process, index = busy.pop(connection)
                try:
                    _, (result, problem) = connection.recv()
                except (EOFError, OSError):
                    process.join()
                    connection.close()
                    yield index, None, crash_reason(process.exitcode)
                    idle.append(start_worker())
                    continue
                yield index, result, problem
                idle.append((process, connection))
    finally:
        for process, connection in idle + [(p, c) for c, (p, _) in busy.items()]:
            try:
                connection.send(None)
            except OSError:
                pass
            process.join(timeout=1)
            if process.is_alive():
                process.kill()
