"""PyAV: FFmpeg's Python bindings, with FFmpeg bundled in its wheels (x86-64 and aarch64),
maintained; the decoder that is always installed (a dependency of the plugin)."""
import bisect
from typing import Dict, Iterator, List, Sequence

import numpy as np

from .base import FrameReader, MissingFrames, VideoReadError


class PyAVReader(FrameReader):
    """A video through ``av.open``, one decoding thread.

    Opening scans the stream's packets (no decoding, as decord does) for their timestamps:
    frame ``i`` is the packet with the ``i``-th smallest timestamp, whatever the frame rate
    does (variable rates included), and the keyframes say where a seek can start. Reading
    goes forward; a frame behind the last one decoded, or past a later keyframe, is reached
    by seeking to the keyframe before it. Frames are rotated upright by their display
    matrix (``VideoFrame.rotation``), as decord and torchcodec return them.
    """

    name, module = 'pyav', 'av'

    def _open(self) -> None:
        import av

        self.container = av.open(self.path)
        if not self.container.streams.video:
            raise VideoReadError(self.path, 'the file has no video stream')
        self.stream = self.container.streams.video[0]
        self.stream.thread_count = 1
        stamps: List[int] = []
        keyframes: List[int] = []
        for packet in self.container.demux(self.stream):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream packet
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                raise ValueError('a packet of the video stream has no timestamp')
            stamps.append(stamp)
            if packet.is_keyframe:
                keyframes.append(stamp)
        self.stamps = sorted(stamps)
        self.index_of: Dict[int, int] = {stamp: i for i, stamp in enumerate(self.stamps)}
        self.keyframes = sorted(self.index_of[stamp] for stamp in keyframes) or [0]
        self.num_frames = len(self.stamps)
        self.header_frames = int(self.stream.frames or 0)
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        self._frames = None  # the decoding generator, from the last seek
        self._position = -1  # index of the last frame it gave

    def _seek(self, index: int) -> Iterator:
        key = self.keyframes[max(bisect.bisect_right(self.keyframes, index) - 1, 0)]
        self.container.seek(self.stamps[key], stream=self.stream, backward=True,
                            any_frame=False)
        self._position = -1
        return self.container.decode(self.stream)

    def _read(self, indices: Sequence[int]) -> np.ndarray:
        frames = {}
        try:
            for index in sorted(set(indices)):
                next_key = self.keyframes[max(bisect.bisect_right(self.keyframes, index) - 1,
                                              0)]
                if self._frames is None or index <= self._position or next_key > self._position:
                    self._frames = self._seek(index)
                frames[index] = self._decode_until(index)
        except BaseException:
            self._frames = None  # a retry starts from a seek
            raise
        return np.stack([frames[index] for index in indices])

    def _decode_until(self, index: int) -> np.ndarray:
        for frame in self._frames:
            position = self.index_of.get(frame.pts)
            if position is None:
                continue  # a frame the packet scan did not count (no timestamp)
            self._position = position
            if position == index:
                return self._rgb(frame)
            if position > index:
                break
        raise MissingFrames(index, self._position + 1)

    @staticmethod
    def _rgb(frame) -> np.ndarray:
        array = frame.to_ndarray(format='rgb24')
        turns = int(round(getattr(frame, 'rotation', 0) or 0)) // 90
        return np.ascontiguousarray(np.rot90(array, turns)) if turns % 4 else array

    def close(self) -> None:
        container = self.__dict__.pop('container', None)
        if container is not None:
            container.close()
