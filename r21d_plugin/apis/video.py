"""Videos as streams of clips: the window rule and bounded-memory decoding.

The use side (prediction, timelines, feature extraction) reads a video once, front to back,
in chunks, and yields the clips of consecutive windows; only the frames that a window still
needs are kept, so memory does not grow with the video's length. Files are decoded by one
of ``data.decoders``' backends (``decoder=``, with its per-call ``timeout``), each frame
transformed as soon as it is decoded where a ``frame_transform`` is given (the config's
resize: memory does not grow with the resolution either).

**The window rule.** A window is ``span = (clip_len - 1) * frame_interval + 1`` source
frames starting at frame ``start``; its clip is the frames ``start + i * frame_interval``,
``i = 0 .. clip_len - 1``. Windows start at ``0, stride, 2 * stride, ...`` as long as the
whole window lies inside the video: ``(num_frames - span) // stride + 1`` windows, so the
last ``(num_frames - span) % stride`` frames fall in no window start. A video shorter than
one window gives exactly one window at frame 0 whose frame indices wrap around (``index %
num_frames``), as MMAction2's ``SampleFrames`` fills short videos at test time (its default
``out_of_bound_opt='loop'``). The default stride, ``clip_len * frame_interval``
(``default_stride``), tiles the video: consecutive windows continue one grid of frames
``frame_interval`` apart, each frame of it in one window.
"""
import heapq
import itertools
import os
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..data.decoders import Decoder, VideoReadError, open_reader

#: Frames decoded per decoder call.
DECODE_CHUNK = 64
#: Decoded bytes per decoder call at most: fewer frames per call for large frames, so a 4K
#: video holds a few native frames at a time, not ``DECODE_CHUNK`` of them.
DECODE_BYTES = 64 * 2**20

#: Applied to each frame right after it is decoded (e.g. the config's resize).
FrameTransform = Callable[[np.ndarray], np.ndarray]

#: A video file's path, or its frames already in memory (``T x H x W x 3`` uint8, RGB).
VideoSource = Union[str, np.ndarray]


@dataclass(frozen=True)
class VideoInfo:
    """What the use side reports about a video: its name, length, frame rate and size."""

    name: str
    num_frames: int
    fps: float
    height: int
    width: int


def window_span(clip_len: int, frame_interval: int = 1) -> int:
    """How many source frames one window covers."""
    return (clip_len - 1) * frame_interval + 1


def default_stride(clip_len: int, frame_interval: int = 1) -> int:
    """Source frames between window starts when none is given: windows tile the video."""
    return clip_len * frame_interval


def _start_range(num_frames: int, clip_len: int, stride: int, frame_interval: int) -> range:
    if clip_len < 1 or stride < 1 or frame_interval < 1:
        raise ValueError(f'clip_len, stride and frame_interval must be positive, got '
                         f'{clip_len}, {stride}, {frame_interval}')
    if num_frames < 1:
        return range(0)
    span = window_span(clip_len, frame_interval)
    if num_frames < span:
        return range(1)
    return range(0, num_frames - span + 1, stride)


def window_starts(num_frames: int, clip_len: int, stride: int,
                  frame_interval: int = 1) -> List[int]:
    """The first source frame of every window (the window rule in the module docstring)."""
    return list(_start_range(num_frames, clip_len, stride, frame_interval))


def window_frames(start: int, num_frames: int, clip_len: int,
                  frame_interval: int = 1) -> np.ndarray:
    """The source frame indices of the window starting at ``start`` (wrapping if short)."""
    return (start + np.arange(clip_len) * frame_interval) % num_frames


def _frames_in_order(starts: Sequence[int], num_frames: int, clip_len: int,
                     frame_interval: int) -> Iterator[int]:
    """Every frame some window takes, once, in increasing order, computed as needed: only
    the windows that overlap the current frame are looked at, so a long video costs no
    memory here."""
    span = window_span(clip_len, frame_interval)
    if starts and starts[-1] + span > num_frames:  # a window wraps around: few frames
        yield from sorted({int(i) for start in starts
                           for i in window_frames(start, num_frames, clip_len,
                                                  frame_interval)})
        return
    upcoming, last = iter(starts), -1
    following = next(upcoming, None)
    active: List[Tuple[int, int]] = []  # (next frame, frames left) of each open window
    while active or following is not None:
        if following is not None and (not active or following <= active[0][0]):
            heapq.heappush(active, (following, clip_len))
            following = next(upcoming, None)
            continue
        frame, left = heapq.heappop(active)
        if left > 1:
            heapq.heappush(active, (frame + frame_interval, left - 1))
        if frame > last:
            yield frame
            last = frame


class _FrameArray:
    """Frames already in memory, read like a decoder."""

    def __init__(self, frames: np.ndarray, name: str, fps: float) -> None:
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise VideoReadError(name, f'frames in memory must be a T x H x W x 3 uint8 array '
                                       f'(RGB), got {frames.dtype} {tuple(frames.shape)}')
        self.frames, self.fps = frames, fps

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        return self.frames[np.asarray(indices, dtype=np.int64)]


class Video:
    """A video to read as clips: a file path or frames in memory.

    Args:
        source (str | np.ndarray): a video file, or ``T x H x W x 3`` uint8 RGB frames.
        name (str, optional): how messages and results name it. Default: the path, or
            ``'<frames>'``.
        fps (float): the frame rate of frames in memory (files report their own).
            Default: 30.
        decoder (str | type): the backend for a file (``decoders.DECODER_CHOICES``).
            Default: ``'auto'``.
        timeout (float, optional): seconds a decoder call may take before the video fails
            as hung (``decoders.DecodeTimeout``). Default: no limit.
        frame_transform (callable, optional): applied to each frame as soon as it is
            decoded (``ClipPipeline.frame_transform``: the config's resize), so only
            transformed frames are held. ``info`` keeps the video's own size.
    """

    def __init__(self, source: VideoSource, name: Optional[str] = None,
                 fps: float = 30.0, decoder: Decoder = 'auto',
                 timeout: Optional[float] = None,
                 frame_transform: Optional[FrameTransform] = None) -> None:
        if isinstance(source, (str, os.PathLike)):
            source = os.fspath(source)
            self.name = name or source
            self._reader = open_reader(source, decoder, timeout)
        else:
            self.name = name or '<frames>'
            self._reader = _FrameArray(np.asarray(source), self.name, fps)
        first = self._reader.read([0])[0]
        self.info = VideoInfo(self.name, len(self._reader), self._reader.fps,
                              int(first.shape[0]), int(first.shape[1]))
        self.frame_transform = frame_transform
        self._frames_per_read = int(np.clip(DECODE_BYTES // max(first.nbytes, 1), 1,
                                            DECODE_CHUNK))

    @property
    def num_frames(self) -> int:
        return self.info.num_frames

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` (``len x H x W x 3`` uint8 RGB), transformed by
        ``frame_transform``; at most ``DECODE_BYTES`` of native frames are decoded at once."""
        indices = list(indices)
        if self.frame_transform is None and len(indices) <= self._frames_per_read:
            return self._reader.read(indices)
        parts = []
        for begin in range(0, len(indices), self._frames_per_read):
            frames = self._reader.read(indices[begin:begin + self._frames_per_read])
            parts.extend(frames if self.frame_transform is None
                         else [self.frame_transform(frame) for frame in frames])
        return np.stack(parts)

    def windows(self, clip_len: int, stride: int, frame_interval: int = 1,
                starts: Optional[Sequence[int]] = None,
                chunk: int = DECODE_CHUNK) -> Iterator[Tuple[int, np.ndarray]]:
        """Yield ``(start, clip)`` for each window, ``clip`` being ``clip_len x H x W x 3``.

        Frames are decoded once, in order, ``chunk`` at a time; a frame is dropped as soon
        as no later window needs it, so at most about ``span + chunk`` frames are held, and
        nothing else grows with the video's length.
        ``starts`` overrides the window rule's starts (e.g. MMAction2's test clips).
        """
        num_frames = self.num_frames
        starts = (_start_range(num_frames, clip_len, stride, frame_interval)
                  if starts is None else sorted(starts))
        wanted = _frames_in_order(starts, num_frames, clip_len, frame_interval)
        held: Dict[int, np.ndarray] = {}
        for k, start in enumerate(starts):
            indices = [int(i) for i in window_frames(start, num_frames, clip_len,
                                                     frame_interval)]
            while any(i not in held for i in indices):
                batch = list(itertools.islice(wanted, chunk))
                held.update(zip(batch, self.read(batch)))
            yield start, np.stack([held[i] for i in indices])
            if k + 1 < len(starts):  # no later window needs a frame before its start
                for index in [i for i in held if i < starts[k + 1]]:
                    del held[index]


def open_video(source: VideoSource, name: Optional[str] = None, fps: float = 30.0,
               decoder: Decoder = 'auto', timeout: Optional[float] = None,
               frame_transform: Optional[FrameTransform] = None) -> Video:
    """``Video(source, ...)``: raises ``VideoReadError`` naming the file and reason."""
    return Video(source, name, fps, decoder, timeout, frame_transform)
