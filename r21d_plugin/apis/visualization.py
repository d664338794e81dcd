"""Pictures of results: a timeline's top classes over time, and labels drawn on a video."""
import os.path as osp
from typing import Callable, Sequence

import cv2
import numpy as np

from ..engine.checkpoint import atomic_write
from .inference import Timeline
from .video import DECODE_CHUNK, Video


def plot_timeline(timeline: Timeline, out_file: str, num_classes: int = 5) -> str:
    """Draw the scores over time (window centers, in seconds) of the ``num_classes`` classes
    with the highest peak score; write a PNG and return its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    starts, ends = timeline.seconds()
    centers = (starts + ends) / 2
    peaks = timeline.scores.max(axis=0)
    classes = np.argsort(-peaks, kind='stable')[:num_classes]
    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    marker = 'o' if len(centers) < 30 else None
    for index in classes:
        name = timeline.labels[index] if timeline.labels is not None else f'class {index}'
        axes.plot(centers, timeline.scores[:, index], marker=marker, label=name)
    axes.set_xlabel('time (s)')
    axes.set_ylabel('score (softmax)')
    axes.set_ylim(0, 1.02)
    axes.set_xlim(0, max(float(ends[-1]), 1e-3))
    axes.grid(alpha=0.3)
    axes.set_title(f'{osp.basename(timeline.name)}: windows of {timeline.clip_len} frames '
                   f'every {timeline.stride}')
    axes.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize='small')
    figure.tight_layout()
    atomic_write(out_file, figure.savefig)
    return out_file


def draw_lines(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``frame`` (RGB) with ``lines`` of text in its top-left corner, on a dark band."""
    height = frame.shape[0]
    scale = max(height / 720.0, 0.3)
    thickness = max(int(round(2 * scale)), 1)
    line_height = int(32 * scale) + 2
    out = frame.copy()
    if lines:
        widths = [cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
                  for line in lines]
        band = out[:line_height * len(lines) + 4, :max(widths) + 8]
        band[:] = (band * 0.4).astype(out.dtype)
    for row, line in enumerate(lines):
        cv2.putText(out, line, (4, line_height * (row + 1) - 4), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def write_labelled_video(video: Video, out_file: str,
                         lines_at: Callable[[int], Sequence[str]]) -> int:
    """Write ``video`` with ``lines_at(frame_index)`` drawn on each frame (mp4v), reading
    it in chunks; returns the number of frames written."""
    info = video.info

    def write(path: str) -> None:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), info.fps or 30.0,
                                 (info.width, info.height))
        if not writer.isOpened():
            raise OSError(f'{out_file}: OpenCV cannot write an mp4v video there')
        try:
            for begin in range(0, info.num_frames, DECODE_CHUNK):
                indices = list(range(begin, min(begin + DECODE_CHUNK, info.num_frames)))
                for index, frame in zip(indices, video.read(indices)):
                    writer.write(cv2.cvtColor(draw_lines(frame, lines_at(index)),
                                              cv2.COLOR_RGB2BGR))
        finally:
            writer.release()

    atomic_write(out_file, write)  # a failed read leaves no half video
    return info.num_frames
