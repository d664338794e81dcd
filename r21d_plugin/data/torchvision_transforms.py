"""torchvision's video preprocessing as MMAction2 transforms, for torchvision's weights.

torchvision's ``R2Plus1D_18_Weights.KINETICS400_V1.transforms()`` (``VideoClassification``,
the same for ``R3D_18`` and ``MC3_18``) resizes uint8 frames to 128 x 171 by bilinear
interpolation computed in float32 and rounded back to uint8 (it hard-codes
``antialias=False``), center-crops 112 x 112 at ``round((size - crop) / 2)`` (Python's round,
halves to even), then normalises ``(x / 255 - mean) / std``. MMAction2's ``Resize`` uses
OpenCV's fixed-point bilinear interpolation (the same filter, off by one grey level in about
one pixel of eight) and its ``CenterCrop`` floors the offset (column 29 instead of 30 for 171
-> 112). ``TorchvisionResize`` and ``TorchvisionCenterCrop`` give torchvision's frames
exactly; the normalisation is the data preprocessor's (``TORCHVISION_MEAN`` / ``_STD`` x 255).
"""
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from mmaction.datasets.transforms import CenterCrop, Resize
from mmaction.registry import TRANSFORMS

#: torchvision's video normalisation, for frames in [0, 1].
TORCHVISION_MEAN = (0.43216, 0.394666, 0.37645)
TORCHVISION_STD = (0.22803, 0.22145, 0.216989)


def _unsupported_keys(results: Dict, transform: str) -> None:
    for key in ('keypoint', 'gt_bboxes'):
        if key in results:
            raise ValueError(f'{transform} reproduces torchvision\'s frame preprocessing only; '
                             f'{key!r} is not supported (use MMAction2\'s transform)')


@TRANSFORMS.register_module()
class TorchvisionResize(Resize):
    """``Resize`` computed as torchvision's tensor resize: float32 bilinear interpolation
    (``align_corners=False``, no antialiasing), rounded back to the frames' integer dtype.

    Takes ``Resize``'s ``scale`` and ``keep_ratio``; bilinear only, never lazy.
    """

    def __init__(self, scale, keep_ratio: bool = True) -> None:
        super().__init__(scale, keep_ratio=keep_ratio, interpolation='bilinear', lazy=False)

    def _resize_imgs(self, imgs: List[np.ndarray], new_w: int, new_h: int) -> List[np.ndarray]:
        frames = np.stack(imgs)
        squeeze = frames.ndim == 3  # grayscale frames
        tensor = torch.from_numpy(frames[..., None] if squeeze else frames)
        resized = F.interpolate(tensor.permute(0, 3, 1, 2).float(), size=(new_h, new_w),
                                mode='bilinear', align_corners=False)
        if frames.dtype.kind != 'f':
            resized = resized.round_()
        out = np.ascontiguousarray(resized.permute(0, 2, 3, 1).numpy().astype(frames.dtype))
        return list(out[..., 0] if squeeze else out)

    def transform(self, results: Dict) -> Dict:
        _unsupported_keys(results, type(self).__name__)
        return super().transform(results)


@TRANSFORMS.register_module()
class TorchvisionCenterCrop(CenterCrop):
    """``CenterCrop`` at torchvision's offsets, ``round((size - crop) / 2)`` with Python's
    rounding (MMAction2 floors them): what torchvision, VMZ-pt and ig65m-pytorch crop.

    Takes ``CenterCrop``'s ``crop_size`` (an int or ``(w, h)``); never lazy.
    """

    def __init__(self, crop_size) -> None:
        super().__init__(crop_size, lazy=False)

    def transform(self, results: Dict) -> Dict:
        _unsupported_keys(results, type(self).__name__)
        img_h, img_w = results['img_shape']
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'crop {crop_w}x{crop_h} is larger than the frames '
                             f'({img_w}x{img_h})')
        left, top = int(round((img_w - crop_w) / 2.0)), int(round((img_h - crop_h) / 2.0))
        crop_bbox = np.array([left, top, left + crop_w, top + crop_h])
        results['imgs'] = self._crop_imgs(results['imgs'], crop_bbox)
        results['crop_bbox'] = crop_bbox
        results['img_shape'] = (crop_h, crop_w)
        # The crop as a fraction of the original frame, as CenterCrop keeps it (the region
        # LoadAlignedFlow reads).
        x, y, w, h = results.get('crop_quadruple', np.array([0, 0, 1, 1], dtype=np.float32))
        results['crop_quadruple'] = np.array(
            [x + left / img_w * w, y + top / img_h * h, crop_w / img_w * w, crop_h / img_h * h],
            dtype=np.float32)
        return results
