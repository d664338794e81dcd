"""Merge an RGB and a flow checkpoint into one TwoStreamRecognizer checkpoint.

    r21d-two-stream-checkpoint RGB_CKPT FLOW_CKPT OUT

Each input is the checkpoint a single-stream config trained (or converted weights in the
same layout); OUT holds them under ``rgb.`` and ``flow.``, for
``r21d-test configs/two_stream/<...>-two-stream.py OUT``.
"""
import argparse
from typing import List

from ..engine.preflight import require_checkpoint
from ..weights.stream_checkpoints import merge_stream_checkpoints
from .errors import cli_main, tool_parser


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('rgb', help="the RGB stream's checkpoint")
    parser.add_argument('flow', help="the flow stream's checkpoint")
    parser.add_argument('out', help='the two-stream checkpoint to write')
    return parser.parse_args(argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    require_checkpoint(args.rgb, 'rgb_checkpoint')
    require_checkpoint(args.flow, 'flow_checkpoint')
    taken = merge_stream_checkpoints(args.rgb, args.flow, args.out)
    print(f'{args.out}: {len(taken["rgb"])} RGB and {len(taken["flow"])} flow tensors')
    return 0
