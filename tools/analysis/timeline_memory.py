"""Peak resident memory of timelines on long generated videos: it must not grow with the
length, nor (beyond a few frames) with the resolution (docs/inference.md, "Speed and
memory"; speed is the benchmark's use side).

    python tools/analysis/timeline_memory.py CONFIG [--checkpoint CKPT] [--device cpu]
        [--minutes 2 20] [--size 112x112 2160x3840] [--decoder auto] [--stride S]
        [--work-dir DIR]

Each length and size (height x width) runs in a fresh process on a video at 30 fps.
Weights are random without a checkpoint (memory does not depend on them).
"""
import argparse
from typing import Tuple

from r21d_plugin.benchmark.use_speed import timeline_peak_memory


def frame_size(text: str) -> Tuple[int, int]:
    """'2160x3840' -> (2160, 3840): height, width."""
    height, width = (int(value) for value in text.lower().split('x'))
    return height, width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--minutes', type=float, nargs='+', default=[2, 20],
                        help='lengths of the generated videos')
    parser.add_argument('--size', type=frame_size, nargs='+', default=[(112, 112)],
                        metavar='HxW', help='frame sizes of the generated videos')
    parser.add_argument('--decoder', default='auto', help='the video decoder')
    parser.add_argument('--stride', type=int, help='frames between window starts')
    parser.add_argument('--work-dir', help='where the videos are written (removed after). '
                        "Default: the system's temporary folder")
    args = parser.parse_args()
    for minutes in args.minutes:
        for height, width in args.size:
            memory = timeline_peak_memory(args.config, minutes, args.checkpoint, args.device,
                                          (height, width), stride=args.stride,
                                          work_dir=args.work_dir, decoder=args.decoder)
            print(f"timeline on {minutes:g} min at {height}x{width} ({memory['frames']} "
                  f"frames, {memory['windows']} windows): peak RSS {memory['peak_mb']:.0f} MB "
                  f"(model loaded: {memory['loaded_mb']:.0f} MB)")


if __name__ == '__main__':
    main()
