"""Write the embedded motion dataset (classes told apart only by motion).

Example:
    python tools/data/generate_motion_dataset.py                      # data/motion, demo size
    python tools/data/generate_motion_dataset.py --size test --out data/motion_tiny
    python tools/data/generate_motion_dataset.py --videos-per-class train=128 --seed 1
"""
import argparse

from r21d_plugin.data.prep.motion_dataset import (MOTION_DATASET_SIZES, SPLITS,
                                             generate_motion_dataset)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/motion', help='dataset root')
    parser.add_argument('--size', default='demo', choices=list(MOTION_DATASET_SIZES))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--frame-size', type=int, help='override the size\'s frame size')
    parser.add_argument('--num-frames', type=int, help='override the frames per video')
    parser.add_argument('--videos-per-class', type=parse_split_counts,
                        help='override counts, e.g. train=128,test=32')
    args = parser.parse_args()
    files = generate_motion_dataset(args.out, size=args.size, seed=args.seed,
                                    frame_size=args.frame_size, num_frames=args.num_frames,
                                    videos_per_class=args.videos_per_class)
    for split, path in files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
