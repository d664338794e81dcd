"""torchrun that keeps the preemption contract: signals reach the workers, status 75 comes out.

    python -m r21d_plugin.engine.torchrun [torchrun arguments] SCRIPT [script arguments]

``PreemptionHook`` (``engine/preemption.py``) turns SIGTERM or SIGUSR1 into a checkpoint and
exit status 75, which a job script requeues. Plain torchrun breaks that: it forwards only
SIGTERM, SIGINT, SIGHUP and SIGQUIT (SIGUSR1, Slurm's usual ``--signal``, ends the launcher
itself), SIGKILLs the workers 30 s after forwarding one, and then exits 1 whatever the
workers returned. This launcher runs torchrun's own ``main`` with two changes:

* SIGTERM and SIGUSR1 are sent straight on to the worker processes (torchrun's children)
  and torchrun does not act on them: no kill timer runs while rank 0 saves. The workers
  exit when their checkpoint is written; torchrun then stops the rest as usual. (A signal
  that arrives before any worker started ends the launch as torchrun would.) SIGINT, SIGHUP
  and SIGQUIT stay torchrun's, so Ctrl-C still stops everything.
* When the first worker to end exited 75 (preempted, saved) and the others 75 too or by the
  SIGTERM torchrun then sends them, the launcher exits 75; other failures keep torchrun's
  report and status 1.

torchrun without ``--signals-to-handle`` (torch 2.4 has none) installs its own handler for
SIGTERM, SIGINT, SIGHUP and SIGQUIT when it starts the workers; there the launcher keeps its
handlers of SIGTERM and SIGUSR1 in place through that (``_keeping_forwarded_handlers``).
"""
import contextlib
import os
import signal
import sys
from typing import Any, Iterator, List, Optional

from torch.distributed.elastic.multiprocessing.api import _terminate_process_handler
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import get_args_parser
from torch.distributed.run import main as torchrun

from .preemption import PREEMPTED_EXIT_STATUS

#: Signals passed on to the workers by this launcher (PreemptionHook's defaults).
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
#: Signals left to torchrun, which stops its workers on them.
TORCHRUN_SIGNALS = 'SIGINT,SIGHUP,SIGQUIT'


def child_processes(pid: int) -> List[int]:
    """The ids of ``pid``'s living child processes (read from ``/proc``)."""
    children = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat', 'rb') as stat:
                # "pid (command) state ppid ...": the command may hold spaces and ')'.
                fields = stat.read().rsplit(b')', 1)[1].split()
        except (OSError, IndexError):  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def _forward_to_workers(signum: int, frame: object) -> None:
    workers = child_processes(os.getpid())
    if not workers:  # nothing started yet: stop the launch as torchrun's handler does
        _terminate_process_handler(signum, frame)
    print(f'r21d torchrun: {signal.Signals(signum).name} passed on to the workers '
          f'{workers}; waiting for them to save and exit', file=sys.stderr, flush=True)
    for worker in workers:
        try:
            os.kill(worker, signum)
        except ProcessLookupError:
            pass


def _preempted(error: ChildFailedError) -> bool:
    """Whether the first worker to end exited 75 and the others 75 or by the SIGTERM torchrun
    sends the rest once one has ended (ranks exit 75 only after the save, together)."""
    _, first = error.get_first_failure()
    return first.exitcode == PREEMPTED_EXIT_STATUS and all(
        failure.exitcode in (PREEMPTED_EXIT_STATUS, -signal.SIGTERM)
        for failure in error.failures.values())


def _torchrun_takes_signals_to_handle() -> bool:
    """Whether this torch's torchrun has ``--signals-to-handle`` (torch 2.4 has not)."""
    return '--signals-to-handle' in get_args_parser().format_help()


@contextlib.contextmanager
def _keeping_forwarded_handlers() -> Iterator[None]:
    """Inside, ``signal.signal`` leaves the handlers of ``FORWARDED_SIGNALS`` as they are, so
    that a torchrun without ``--signals-to-handle`` does not replace them."""
    install = signal.signal

    def install_unless_forwarded(signum: int, handler: Any) -> Any:
        if signum in FORWARDED_SIGNALS:
            return signal.getsignal(signum)
        return install(signum, handler)

    signal.signal = install_unless_forwarded
    try:
        yield
    finally:
        signal.signal = install


def main(argv: Optional[List[str]] = None) -> int:
    """Run torchrun on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, _forward_to_workers)
    try:
        if _torchrun_takes_signals_to_handle():
            torchrun(['--signals-to-handle', TORCHRUN_SIGNALS, *argv])
        else:
            with _keeping_forwarded_handlers():
                torchrun(argv)
    except ChildFailedError as error:
        if not _preempted(error):
            raise
        print(f'r21d torchrun: the workers saved and exited {PREEMPTED_EXIT_STATUS} '
              f'(preempted): exiting {PREEMPTED_EXIT_STATUS} so that the job is requeued',
              file=sys.stderr, flush=True)
        return PREEMPTED_EXIT_STATUS
    return 0


if __name__ == '__main__':
    sys.exit(main())
