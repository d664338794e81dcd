"""One clear message instead of a traceback, for the errors a user fixes from the message.

Every tool's ``main`` is wrapped by ``cli_main``: a known user error (``USER_ERRORS``: a
config name that matches nothing, a dataset not prepared, a checkpoint missing, unreadable
or not convertible, a malformed annotation file) prints ``<tool>: error: <message>`` on
stderr and the tool returns 2, the status argparse gives a bad command line. ``--verbose``
(every tool has it) or ``R21D_VERBOSE=1`` raises it with its traceback instead. Any other
exception keeps its full traceback: it is a bug or a problem the message alone cannot fix.

In a distributed run each process checks the same inputs before the processes meet; only
the first process of each machine prints the message (the others see the same files),
and all exit with status 2.
"""
import argparse
import functools
import os
import os.path as osp
import sys
from typing import Callable, List, Optional

from ..engine.checkpoint_loading import (CheckpointMismatchError, UnreadableCheckpointError,
                                         UntrustedCheckpointError)
from ..configs import ConfigNotFoundError
from ..data.annotations import AnnotationError
from ..data.prep.paths import OutputIsInputError
from ..engine.device import DeviceError
from ..engine.preflight import CheckpointNotFoundError, DatasetNotPreparedError
from ..weights import ConversionError

#: Set to 1 to see the traceback of a user error (as ``--verbose`` does).
VERBOSE_ENV = 'R21D_VERBOSE'
#: The errors whose message says all a user needs.
USER_ERRORS = (ConfigNotFoundError, DatasetNotPreparedError, CheckpointNotFoundError,
               UnreadableCheckpointError, UntrustedCheckpointError, ConversionError,
               AnnotationError, CheckpointMismatchError, OutputIsInputError, DeviceError)
VERBOSE_HELP = f'on an error, show its traceback (also: {VERBOSE_ENV}=1)'


def tool_parser(description: str, verbose_help: str = VERBOSE_HELP,
                **kwargs) -> argparse.ArgumentParser:
    """An ArgumentParser with the ``--verbose`` flag every tool has."""
    parser = argparse.ArgumentParser(description=description, **kwargs)
    parser.add_argument('--verbose', action='store_true', help=verbose_help)
    return parser


def _local_rank() -> int:
    """This process's rank on its machine under torchrun (LOCAL_RANK) or srun."""
    for name in ('LOCAL_RANK', 'SLURM_LOCALID'):
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _verbose(argv: List[str]) -> bool:
    return ('--verbose' in argv
            or os.environ.get(VERBOSE_ENV, '').strip().lower() in ('1', 'true', 'yes'))


def cli_main(main: Callable[[List[str]], int]) -> Callable[[Optional[List[str]]], int]:
    """Wrap a tool's ``main(argv) -> int``: user errors become one message and status 2.

    The wrapped ``main(argv=None)`` reads ``sys.argv[1:]`` when ``argv`` is None, as the
    console scripts and ``tools/*.py`` call it.
    """

    @functools.wraps(main)
    def wrapped(argv: Optional[List[str]] = None) -> int:
        argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
        local_rank = _local_rank()  # before the tool sets LOCAL_RANK itself
        try:
            return main(argv)
        except USER_ERRORS as error:
            if _verbose(argv):
                raise
            if local_rank == 0:
                print(f'{osp.basename(sys.argv[0])}: error: {error}', file=sys.stderr)
            return 2

    return wrapped
