"""torchcodec in MMAction2 pipelines: ``TorchCodecInit`` / ``TorchCodecDecode``, used as
``DecordInit`` / ``DecordDecode`` are.

They read through ``data.decoders.TorchCodecReader``, so a training config decodes the same
frames as the use side (``--decoder torchcodec``) and as ``DecordDecode`` (the backends are
tested bit-exact to each other), with the same frame count, the display matrix applied and
truncated files refused with the same reasons. PyAV needs no new transforms: MMAction2's
own ``PyAVInit`` / ``PyAVDecode`` run on this stack (tested in a config that trains and
tests), but decode every frame up to the last one sampled (``mode='accurate'``) and do not
apply the display matrix (docs/inference.md, "Decoders").
"""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from .decoders import TorchCodecCudaReader, TorchCodecReader


@TRANSFORMS.register_module()
class TorchCodecInit(BaseTransform):
    """Open a video file with torchcodec.

    Required keys: ``filename`` (a local file). Added keys: ``video_reader``,
    ``total_frames``, ``avg_fps``.

    Args:
        device (str): ``'cpu'``, or ``'cuda'`` to decode on the GPU (torchcodec's CUDA
            build; frames still come back as host arrays, as the pipeline needs them).
            Default: ``'cpu'``.
    """

    def __init__(self, device: str = 'cpu') -> None:
        if device not in ('cpu', 'cuda'):
            raise ValueError(f"TorchCodecInit: device must be 'cpu' or 'cuda', got {device!r}")
        self.device = device

    def transform(self, results: Dict) -> Dict:
        reader_type = TorchCodecCudaReader if self.device == 'cuda' else TorchCodecReader
        reader = reader_type(results['filename'])
        results.update(video_reader=reader, total_frames=len(reader), avg_fps=reader.fps)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(device={self.device!r})'


@TRANSFORMS.register_module()
class TorchCodecDecode(BaseTransform):
    """Decode the frames ``frame_inds`` of the video ``TorchCodecInit`` opened.

    Required keys: ``video_reader``, ``frame_inds``. Added or modified keys: ``imgs``
    (RGB uint8 frames), ``original_shape``, ``img_shape``; ``video_reader`` is released.
    """

    def transform(self, results: Dict) -> Dict:
        reader = results['video_reader']
        indices = np.asarray(results['frame_inds']).reshape(-1)
        frames = reader.read(indices)
        reader.close()
        results['imgs'] = list(frames)
        results['original_shape'] = results['img_shape'] = frames.shape[1:3]
        results['video_reader'] = None
        return results
