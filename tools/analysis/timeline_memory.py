"""Peak resident memory of timelines on long generated videos: it must not grow with the
length (docs/inference.md, "Speed and memory"; speed is the benchmark's use side).

    python tools/analysis/timeline_memory.py CONFIG [--checkpoint CKPT] [--device cpu]
        [--minutes 2 20] [--stride S] [--work-dir DIR]

Each length runs in a fresh process on a 112x112 video at 30 fps. Weights are random without
a checkpoint (memory does not depend on them).
"""
import argparse

from r21d_plugin.benchmark.use_speed import timeline_peak_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--minutes', type=float, nargs='+', default=[2, 20],
                        help='lengths of the generated videos')
    parser.add_argument('--stride', type=int, help='frames between window starts')
    parser.add_argument('--work-dir', help='where the videos are written (removed after). '
                        "Default: the system's temporary folder")
    args = parser.parse_args()
    for minutes in args.minutes:
        memory = timeline_peak_memory(args.config, minutes, args.checkpoint, args.device,
                                      stride=args.stride, work_dir=args.work_dir)
        print(f"timeline on {minutes:g} min ({memory['frames']} frames, {memory['windows']} "
              f"windows): peak RSS {memory['peak_mb']:.0f} MB (model loaded: "
              f"{memory['loaded_mb']:.0f} MB)")


if __name__ == '__main__':
    main()
