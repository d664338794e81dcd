"""``--decoder`` and ``--decode-timeout``: the same two options in every tool that decodes
videos outside MMAction2's pipelines (infer, extract-features, extract-flow, check-dataset)."""
import argparse
from typing import Optional

from ..data.decoders import AUTO_ORDER, DECODER_CHOICES, DEFAULT_DECODE_TIMEOUT
from .errors import non_negative_float


def add_decoder_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--decoder`` and ``--decode-timeout`` to ``parser``."""
    parser.add_argument('--decoder', choices=DECODER_CHOICES, default='auto',
                        help=f'video decoder; auto: the first installed of '
                             f'{", ".join(AUTO_ORDER)} (docs/inference.md, "Decoders")')
    parser.add_argument('--decode-timeout', type=non_negative_float, default=DEFAULT_DECODE_TIMEOUT,
                        metavar='SECONDS',
                        help='a decoder call (opening a video, or decoding one batch of its '
                             'frames) that takes longer fails that video as hung; the others '
                             'go on; 0: no limit (default: %(default)g)')


def decode_timeout(args: argparse.Namespace) -> Optional[float]:
    """The parsed ``--decode-timeout``, None for no limit."""
    return args.decode_timeout or None
