"""A pool of worker processes in which a native crash or a hang fails one task, not the run.

Decoders can crash in native code (decord segfaults on some truncated AVI files) or hang.
The offline tools (dataset check, flow extraction) run each file in a worker process: a
crash marks the file it was on as bad, the worker is replaced, and the others go on. A
decoder that hung (``DecodeTimeout``, from the decoders' per-call timeout) fails its file
and its worker, whose hung thread would stay, is replaced too. An error of the machine
rather than of the file (``TransientDecodeError``: too many open files, out of memory, NFS)
stops the run in the main process, where it is raised.
"""
import multiprocessing
import multiprocessing.connection
import os
import signal
from typing import Callable, Iterator, Optional, Sequence, Tuple

from ..decoders import DecodeTimeout, TransientDecodeError, VideoReadError
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
        action = None  # or 'retire' (after a hang), or 'stop' (a transient error)
        try:
            outcome = (function(argument), None)
        except TransientDecodeError as exc:
            outcome, action = (None, exc), 'stop'
        except (EntryProblem, VideoReadError) as exc:
            outcome = (None, exc.reason if isinstance(exc, VideoReadError) else str(exc))
            action = 'retire' if isinstance(exc, DecodeTimeout) else None
        except Exception as exc:  # every other decoder failure is a verdict on the entry
            outcome = (None, f'cannot decode ({exception_summary(exc)}): corrupt, truncated '
                             'or not a video')
        connection.send((index, outcome, action))
        if action is not None:
            return


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
    as ``problem`` (a ``VideoReadError`` its reason); a process that dies (a native crash)
    gives the crash as ``problem`` for the argument it was on, and is replaced, as is one
    whose decoder hung. A ``TransientDecodeError`` is raised here, ending the run.
    ``start_method`` overrides the default ('fork' where available, else 'spawn'), e.g.
    'forkserver' for work that uses threads.
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
                    _, (result, problem), action = connection.recv()
                except (EOFError, OSError):
                    process.join()
                    connection.close()
                    yield index, None, crash_reason(process.exitcode)
                    idle.append(start_worker())
                    continue
                if action == 'stop':
                    idle.append((process, connection))
                    raise problem
                if action == 'retire':
                    process.kill()  # its hung decoder thread would stay
                    process.join()
                    connection.close()
                    idle.append(start_worker())
                else:
                    idle.append((process, connection))
                yield index, result, problem
    finally:
        for process, connection in idle + [(p, c) for c, (p, _) in busy.items()]:
            try:
                connection.send(None)
            except OSError:
                pass
            process.join(timeout=1)
            if process.is_alive():
                process.kill()
