"""Speed and memory of the use side (tools/infer.py, r21d_plugin.apis) on generated videos.

    python tools/analysis/inference_benchmark.py CONFIG [--checkpoint CKPT] [--device cpu]
        [--speed-seconds 10] [--memory-minutes 2 20]

Prints predict's videos per second and timeline's windows per second on a 240x320 video,
then the peak resident memory of a fresh process running timeline on 112x112 videos of each
length (30 fps): it should not grow with the length. Weights are random without a
checkpoint (speed does not depend on them).
"""
import argparse

from r21d_plugin.apis.throughput import inference_throughput, timeline_peak_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--speed-seconds', type=float, default=10.0,
                        help='length of the speed test video; 0 skips the speed test')
    parser.add_argument('--num-videos', type=int, default=2, help='timed predict runs')
    parser.add_argument('--memory-minutes', type=float, nargs='*', default=[2, 20],
                        help='lengths of the memory test videos')
    parser.add_argument('--work-dir', help='where the memory test videos are written '
                        '(removed after). Default: the system\'s temporary folder')
    args = parser.parse_args()
    if args.speed_seconds:
        speed = inference_throughput(args.config, args.checkpoint, args.device,
                                     args.speed_seconds, num_videos=args.num_videos)
        print(f"predict: {speed['videos_per_s']:.3f} videos/s ({speed['clips_per_video']} "
              f"clips each, {speed['frames']}-frame 240x320 video, decoding included); "
              f"timeline: {speed['windows_per_s']:.2f} windows/s ({speed['windows']} windows) "
              f"on {speed['device']}")
    for minutes in args.memory_minutes:
        memory = timeline_peak_memory(args.config, minutes, args.checkpoint, args.device,
                                      work_dir=args.work_dir)
        print(f"timeline on {minutes:g} min ({memory['frames']} frames, {memory['windows']} "
              f"windows): peak RSS {memory['peak_mb']:.0f} MB (model loaded: "
              f"{memory['loaded_mb']:.0f} MB)")


if __name__ == '__main__':
    main()
