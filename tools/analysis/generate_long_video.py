"""Write a long synthetic video, to measure how memory and time grow with a video's length.

    python tools/analysis/generate_long_video.py OUT.mp4 --minutes 20 [--size 112] [--fps 30]

Each frame is a moving pattern (bars drifting across a gradient, plus noise that changes
every frame), so the encoder and decoder do the work of a real video; OpenCV's mp4v codec.
"""
import argparse

import cv2
import numpy as np
from tqdm import tqdm


def write_long_video(path: str, minutes: float, size: int = 112, fps: int = 30,
                     seed: int = 0) -> int:
    """Write ``minutes`` of ``size x size`` frames at ``fps``; return the frame count."""
    num_frames = int(round(minutes * 60 * fps))
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (size, size))
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot write an mp4v video there')
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    background = np.stack([np.add.outer(ramp, ramp) / 2, np.add.outer(ramp, -ramp) / 2 + 128,
                           np.tile(ramp, (size, 1))], axis=-1)
    columns = np.arange(size)
    for index in tqdm(range(num_frames), desc=path, unit='frame', mininterval=2):
        bars = ((columns + 3 * index) // 8 % 2 * 60)[None, :, None]
        noise = rng.integers(0, 24, (size, size, 1))
        writer.write(np.clip(background + bars + noise, 0, 255).astype(np.uint8))
    writer.release()
    return num_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='the video file to write (.mp4)')
    parser.add_argument('--minutes', type=float, required=True)
    parser.add_argument('--size', type=int, default=112, help='frame width and height')
    parser.add_argument('--fps', type=int, default=30)
    args = parser.parse_args()
    frames = write_long_video(args.out, args.minutes, args.size, args.fps)
    print(f'{args.out}: {frames} frames of {args.size}x{args.size} at {args.fps} fps')


if __name__ == '__main__':
    main()
