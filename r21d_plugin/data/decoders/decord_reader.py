"""decord: the decoder MMAction2's ``DecordInit`` / ``DecordDecode`` use (x86-64 wheels only,
unmaintained since 2021); kept so the use side can decode exactly as those configs train."""
from typing import Sequence

import numpy as np

from .base import FrameReader, header_frame_count


class DecordReader(FrameReader):
    """A video through ``decord.VideoReader`` (one thread), frames by ``get_batch``; the
    header's frame count (for the truncation check) is read with PyAV."""

    name, module = 'decord', 'decord'

    def _open(self) -> None:
        import decord

        self.reader = decord.VideoReader(self.path, num_threads=1)
        self.num_frames = len(self.reader)
        self.fps = float(self.reader.get_avg_fps() or 0.0)
        self.header_frames = header_frame_count(self.path)  # decord does not say it

    def _read(self, indices: Sequence[int]) -> np.ndarray:
        return self.reader.get_batch(list(indices)).asnumpy()

    def close(self) -> None:
        self.__dict__.pop('reader', None)
