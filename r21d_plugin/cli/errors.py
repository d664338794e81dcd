"""One clear message instead of a traceback, for the errors a user fixes from the message.

Every tool's ``main`` is wrapped by ``cli_main``: a known user error (``USER_ERRORS``: a
config name that matches nothing, a dataset not prepared, a checkpoint missing, unreadable,
untrusted or not convertible, a malformed annotation file, a test dump that would run code,
a ``ToolError`` a tool raises) prints ``r21d-<tool>: error: <message>`` on stderr, however
the tool was started, and the tool returns 2, the status argparse gives a bad command line
(whose messages carry the same prefix; numbers are checked up front by the ``type=``
validators below). ``--verbose`` (every tool has it) or ``R21D_VERBOSE=1`` raises it with
its traceback instead. Any other
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
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..engine.checkpoint_loading import (CheckpointMismatchError, UnreadableCheckpointError,
                                         UntrustedCheckpointError, trust_checkpoint)
from ..configs import ConfigNotFoundError
from ..data.annotations import AnnotationError
from ..data.decoders import DecoderUnavailableError, TransientDecodeError
from ..data.prep.paths import OutputIsInputError
from ..engine.device import DeviceError
from ..evaluation import DumpError
from ..engine.preflight import CheckpointNotFoundError, DatasetNotPreparedError
from ..weights import ConversionError
from ..zoo import ZooError

class ToolError(Exception):
    """A user error a tool finds itself (inputs that do not fit together, a file that does not
    fit its config): printed as ``r21d-<tool>: error: <message>``, status 2."""


#: Set to 1 to see the traceback of a user error (as ``--verbose`` does).
VERBOSE_ENV = 'R21D_VERBOSE'
#: The errors whose message says all a user needs.
USER_ERRORS = (ConfigNotFoundError, DatasetNotPreparedError, CheckpointNotFoundError,
               UnreadableCheckpointError, UntrustedCheckpointError, ConversionError,
               AnnotationError, CheckpointMismatchError, ZooError, DumpError, ToolError,
               DecoderUnavailableError, TransientDecodeError, OutputIsInputError, DeviceError)
VERBOSE_HELP = f'on an error, show its traceback (also: {VERBOSE_ENV}=1)'


#: The command name of the tool running now (``r21d-<tool>``), set by ``cli_main``.
_tool: Optional[str] = None


def tool_name(module: str) -> str:
    """The command of the tool whose ``main`` is in ``module`` (``r21d_plugin.cli.infer`` ->
    ``r21d-infer``), as setup.py's console scripts name them."""
    return 'r21d-' + module.rsplit('.', 1)[-1].replace('_', '-')


class ToolParser(argparse.ArgumentParser):
    """A tool's parser: named ``r21d-<tool>`` in usage and errors, with ``--verbose``, and
    ``--trust-checkpoint`` for the tools that read a checkpoint the user names."""

    trusted: Optional[str] = None

    def add_trust_checkpoint(self, dest: str = 'checkpoint') -> None:
        """``--trust-checkpoint``: load the file of argument ``dest`` in full even where it
        holds objects outside the safe-loading allow-list (that one file, nothing else)."""
        self.trusted = dest
        self.add_argument(
            '--trust-checkpoint', action='store_true',
            help='load the checkpoint in full even if it holds objects outside the safe '
            'allow-list (full unpickling can run code from the file: only a file you trust)')

    def add_model_arguments(self, config_help: str, checkpoint_help: str) -> None:
        """CONFIG, an optional CHECKPOINT and ``--trust-checkpoint``: the arguments of every
        tool that runs a recognizer (CONFIG may be a published model's name, whose own
        weights are used where CHECKPOINT is left out: ``apis.loading.resolve_model``)."""
        self.add_argument('config', help=config_help)
        self.add_argument('checkpoint', nargs='?', default=None, help=checkpoint_help)
        self.add_trust_checkpoint()

    def parse_known_args(self, args: Optional[Sequence[str]] = None,
                         namespace: Optional[argparse.Namespace] = None
                         ) -> Tuple[argparse.Namespace, List[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if self.trusted and getattr(parsed, 'trust_checkpoint', False):
            checkpoint = getattr(parsed, self.trusted)
            if not isinstance(checkpoint, str) or checkpoint == 'auto':
                self.error(f'--trust-checkpoint needs the checkpoint named '
                           f'(--{self.trusted.replace("_", "-")} FILE)')
            trust_checkpoint(checkpoint)
        return parsed, extras


def tool_parser(description: str, verbose_help: str = VERBOSE_HELP, **kwargs) -> ToolParser:
    """A ``ToolParser`` named after the running tool, with the ``--verbose`` flag."""
    kwargs.setdefault('prog', _tool)
    parser = ToolParser(description=description, **kwargs)
    parser.add_argument('--verbose', action='store_true', help=verbose_help)
    return parser


def _number(kind: Callable[[str], Any], text: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected {"an integer" if kind is int else "a number"}, got {text!r}') from None


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1 (batch sizes, windows, strides, top-k, lengths)."""
    value = _number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be a positive integer, got {text!r}')
    return value


def non_negative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0 (worker counts, where 0 means the main process)."""
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be 0 or a positive integer, got {text!r}')
    return value


def non_negative_float(text: str) -> float:
    """argparse ``type=``: a finite number >= 0 (time limits, where 0 means none)."""
    value = _number(float, text)
    if not 0 <= value < float('inf'):
        raise argparse.ArgumentTypeError(f'must be 0 or a positive number, got {text!r}')
    return value


def positive_float(text: str) -> float:
    """argparse ``type=``: a finite number > 0 (seconds, rates)."""
    value = _number(float, text)
    if not 0 < value < float('inf'):
        raise argparse.ArgumentTypeError(f'must be a positive number, got {text!r}')
    return value


def error_line(message: object) -> str:
    """``r21d-<tool>: error: <message>``, the one form of every tool's user errors."""
    return f'{_tool or osp.basename(sys.argv[0])}: error: {message}'


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

    name = tool_name(main.__module__)

    @functools.wraps(main)
    def wrapped(argv: Optional[List[str]] = None) -> int:
        global _tool
        argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
        local_rank = _local_rank()  # before the tool sets LOCAL_RANK itself
        outer, _tool = _tool, name
        try:
            return main(argv)
        except USER_ERRORS as error:
            if _verbose(argv):
                raise
            if local_rank == 0:
                print(error_line(error), file=sys.stderr)
            return 2
        finally:
            _tool = outer

    return wrapped
