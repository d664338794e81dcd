"""torchcodec: PyTorch's own decoder, on FFmpeg's shared libraries from the system (Debian's
``libavcodec*`` packages), in CPU builds and CUDA builds that decode on the GPU (NVDEC)."""
from typing import Sequence

import numpy as np

from .base import FrameReader


class TorchCodecReader(FrameReader):
    """A video through ``torchcodec.decoders.VideoDecoder`` in exact seek mode (its frame
    index is built from a scan of the packets, as decord's is), one FFmpeg thread."""

    name, module = 'torchcodec', 'torchcodec.decoders'
    #: Where frames are decoded; frames come back to the host as numpy arrays.
    device = 'cpu'

    def _open(self) -> None:
        from torchcodec.decoders import VideoDecoder

        self.decoder = VideoDecoder(self.path, seek_mode='exact', dimension_order='NHWC',
                                    num_ffmpeg_threads=1, device=self.device)
        self.num_frames = len(self.decoder)
        self.header_frames = int(self.decoder.metadata.num_frames_from_header or 0)
        self.fps = float(self.decoder.metadata.average_fps or 0.0)

    def _read(self, indices: Sequence[int]) -> np.ndarray:
        return self.decoder.get_frames_at(list(indices)).data.cpu().numpy()

    def close(self) -> None:
        self.__dict__.pop('decoder', None)


class TorchCodecCudaReader(TorchCodecReader):
    """torchcodec decoding on the current CUDA device (its CUDA build and an NVDEC GPU);
    never chosen by ``auto``."""

    name, device = 'torchcodec-cuda', 'cuda'

    @classmethod
    def available(cls) -> bool:
        if not super().available():
            return False
        import torch
        return torch.cuda.is_available()
