"""Write a long generated video, to measure how memory and time grow with a video's length.

    python tools/analysis/generate_long_video.py OUT.mp4 --minutes 20 [--size 112] [--fps 30]

The benchmark's test video (``r21d_plugin.benchmark.use_speed.write_test_video``: smooth noise
drifting across the frame, OpenCV's mp4v codec), square frames.
"""
import argparse

from r21d_plugin.benchmark.use_speed import write_test_video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='the video file to write (.mp4)')
    parser.add_argument('--minutes', type=float, required=True)
    parser.add_argument('--size', type=int, default=112, help='frame width and height')
    parser.add_argument('--fps', type=int, default=30)
    args = parser.parse_args()
    write_test_video(args.out, args.minutes * 60, args.fps, (args.size, args.size),
                     progress=True)
    print(f'{args.out}: {int(round(args.minutes * 60 * args.fps))} frames of '
          f'{args.size}x{args.size} at {args.fps} fps')


if __name__ == '__main__':
    main()
