"""Write the embedded motion dataset (classes told apart only by motion).

Example:
    r21d-generate-motion-dataset                                       # data/motion, demo size
    r21d-generate-motion-dataset --size test --out data/motion_tiny
    r21d-generate-motion-dataset --videos-per-class train=128 --seed 1
"""
import argparse
from typing import List

from ..data.prep.motion_dataset import (MOTION_DATASET_SIZES, SPLITS,
                                        generate_motion_dataset)
from .errors import cli_main, positive_int, tool_parser


def parse_split_counts(text: str) -> dict:
    counts = {}
    for item in text.split(','):
        split, _, count = item.partition('=')
        if split not in SPLITS or not count.isdigit():
            raise argparse.ArgumentTypeError(
                f'expected SPLIT=COUNT[,SPLIT=COUNT...] with SPLIT in {list(SPLITS)}, '
                f'got {item!r}')
        counts[split] = int(count)
    return counts


@cli_main
def main(argv: List[str]) -> int:
    parser = tool_parser(__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/motion', help='dataset root')
    parser.add_argument('--size', default='demo', choices=list(MOTION_DATASET_SIZES))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--frame-size', type=positive_int, help='override the size\'s frame size')
    parser.add_argument('--num-frames', type=positive_int, help='override the frames per video')
    parser.add_argument('--videos-per-class', type=parse_split_counts,
                        help='override counts, e.g. train=128,test=32')
    args = parser.parse_args(argv)
    files = generate_motion_dataset(args.out, size=args.size, seed=args.seed,
                                    frame_size=args.frame_size, num_frames=args.num_frames,
                                    videos_per_class=args.videos_per_class)
    for split, path in files.items():
        print(f'{split}: {path}')
    return 0
