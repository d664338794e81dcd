"""Extract Farneback optical flow (the paper's parameters) in MMAction2's rawframes layout.

    r21d-extract-flow SRC OUT [--workers N] [--video-root DIR]
        [--resize 171x128|none] [--ext jpg|png] [--decoder auto|pyav|decord|torchcodec]
        [--decode-timeout SECONDS]

SRC is a folder of videos or a VideoDataset annotation file. Writes
OUT/<video path without extension>/{x,y}_00001.jpg ... and OUT/<SRC name>_flow.txt
(``<dir> <num_frames> <label>``). Rerunning resumes: finished videos are skipped.
Exits with status 1 when a video failed (each is named).
"""
import argparse
import os
import sys
from typing import List, Optional, Tuple

from ..data.prep.flow_extraction import PAPER_FRAME_SIZE, extract_flow
from .decoding import add_decoder_arguments, decode_timeout
from .errors import cli_main, positive_int, tool_parser


def frame_size(text: str) -> Optional[Tuple[int, int]]:
    """'171x128' -> (171, 128); 'none' -> None."""
    if text.lower() == 'none':
        return None
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected WxH (e.g. 171x128) or none, got {text!r}')
    return width, height


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('src', help='a folder of videos, or a VideoDataset annotation file')
    parser.add_argument('out', help='output root of the flow rawframes')
    parser.add_argument('--workers', type=positive_int, default=os.cpu_count() or 1,
                        help='videos extracted in parallel (default: all CPU cores)')
    parser.add_argument('--video-root', default=None,
                        help="folder the annotation's video paths are relative to "
                        "(default: the annotation file's folder)")
    parser.add_argument('--resize', type=frame_size, default=PAPER_FRAME_SIZE,
                        metavar='WxH|none',
                        help='resize frames to W x H before the flow, as the RGB pipeline '
                        'does (default 171x128, the paper\'s); none keeps their size')
    parser.add_argument('--ext', choices=('jpg', 'png'), default='jpg',
                        help='jpg: MMAction2 layout; png: the same levels, lossless')
    add_decoder_arguments(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    report = extract_flow(args.src, args.out, workers=args.workers,
                          video_root=args.video_root, size=args.resize,
                          ext=args.ext, decoder=args.decoder,
                          decode_timeout=decode_timeout(args))
    print(f'extracted {len(report.extracted)}, already done {len(report.skipped)}, '
          f'failed {len(report.failed)}; annotation: {report.annotation_file}')
    for video, error in sorted(report.failed.items()):
        print(f'FAILED {video}: {error}', file=sys.stderr)
    return 1 if report.failed else 0
