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


#: The encoder of labelled videos: H.264 (browsers, notebooks and W&B play it) through
#: PyAV's bundled FFmpeg; OpenCV's mp4v where that FFmpeg has no H.264 encoder.
H264_ENCODER = 'libx264'
#: libx264's quality (constant rate factor: 0 lossless, 23 its default; lower is better).
H264_CRF = 18


def _even(frame: np.ndarray) -> np.ndarray:
    """``frame`` padded by its last row / column to even sides (yuv420p needs them)."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode='edge')


class _H264Writer:
    """Frames (RGB) into an H.264 mp4 in yuv420p, the index first (``+faststart``)."""

    def __init__(self, out_file: str, fps: float, width: int, height: int) -> None:
        import av
        from fractions import Fraction

        self.container = av.open(out_file, 'w', options={'movflags': '+faststart'})
        self.stream = self.container.add_stream(
            H264_ENCODER, rate=Fraction(fps).limit_denominator(1001))
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = 'yuv420p'
        self.stream.options = {'crf': str(H264_CRF)}

    def write(self, frame: np.ndarray) -> None:
        import av

        video_frame = av.VideoFrame.from_ndarray(_even(frame), format='rgb24')
        self.container.mux(self.stream.encode(video_frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode())
        self.container.close()


class _Mp4vWriter:
    """Frames (RGB) into an mp4v mp4 through OpenCV: the fallback."""

    def __init__(self, out_file: str, fps: float, width: int, height: int) -> None:
        self.writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                      (width, height))
        if not self.writer.isOpened():
            raise OSError(f'{out_file}: OpenCV cannot write an mp4v video there')

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self.writer.release()


def h264_available() -> bool:
    """Whether PyAV imports and its FFmpeg has the H.264 encoder."""
    try:
        import av
    except ImportError:
        return False
    return H264_ENCODER in av.codecs_available


def write_labelled_video(video: Video, out_file: str,
                         lines_at: Callable[[int], Sequence[str]]) -> int:
    """Write ``video`` with ``lines_at(frame_index)`` drawn on each frame, reading it in
    chunks; returns the number of frames written. H.264 (``H264_ENCODER``; odd sides padded
    by one pixel), or mp4v where PyAV or its encoder is missing."""
    info = video.info
    writer_type = _H264Writer if h264_available() else _Mp4vWriter

    def write(path: str) -> None:
        writer = writer_type(path, info.fps or 30.0, info.width, info.height)
        try:
            for begin in range(0, info.num_frames, DECODE_CHUNK):
                indices = list(range(begin, min(begin + DECODE_CHUNK, info.num_frames)))
                for index, frame in zip(indices, video.read(indices)):
                    writer.write(draw_lines(frame, lines_at(index)))
        finally:
            writer.close()

    atomic_write(out_file, write)  # a failed read leaves no half video
    return info.num_frames
