"""torchvision's resize and center crop as MMAction2 transforms: equal to torchvision's own."""
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as F
from mmaction.datasets.transforms import CenterCrop

import r21d_plugin  # noqa: F401  registers the transforms
from r21d_plugin.data.pipelines import with_torchvision_transforms
from r21d_plugin.data.torchvision_transforms import TorchvisionCenterCrop, TorchvisionResize


def frames(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), np.uint8)


@pytest.mark.parametrize('height, width', [(240, 320), (120, 160), (128, 171), (97, 301)])
def test_resize_is_torchvisions_tensor_resize(height, width):
    clip = frames(3, height, width)
    ours = TorchvisionResize(scale=(171, 128), keep_ratio=False)(
        dict(imgs=list(clip), img_shape=(height, width)))
    theirs = F.resize(torch.from_numpy(clip).permute(0, 3, 1, 2), [128, 171],
                      antialias=False).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(np.stack(ours['imgs']), theirs)
    assert ours['img_shape'] == (128, 171) and ours['imgs'][0].dtype == np.uint8


@pytest.mark.parametrize('height, width', [(128, 171), (128, 170), (127, 172), (112, 112)])
def test_center_crop_is_torchvisions(height, width):
    clip = frames(2, height, width)
    ours = TorchvisionCenterCrop(112)(dict(imgs=list(clip), img_shape=(height, width)))
    theirs = F.center_crop(torch.from_numpy(clip).permute(0, 3, 1, 2), [112, 112])
    np.testing.assert_array_equal(np.stack(ours['imgs']),
                                  theirs.permute(0, 2, 3, 1).numpy())
    # The crop as a fraction of the frame, where MMAction2's CenterCrop keeps it too.
    mmaction2 = CenterCrop(112)(dict(imgs=list(clip), img_shape=(height, width)))
    shift_x, shift_y = ours['crop_bbox'][:2] - mmaction2['crop_bbox'][:2]
    np.testing.assert_allclose(
        ours['crop_quadruple'],
        mmaction2['crop_quadruple'] + [shift_x / width, shift_y / height, 0, 0], atol=1e-6)


def test_with_torchvision_transforms_swaps_only_resize_and_crop():
    pipeline = [dict(type='SampleFrames', clip_len=16), dict(type='Resize', scale=(171, 128),
                                                            keep_ratio=False),
                dict(type='CenterCrop', crop_size=112), dict(type='FormatShape',
                                                             input_format='NCTHW')]
    assert with_torchvision_transforms(pipeline) == [
        pipeline[0], dict(type='TorchvisionResize', scale=(171, 128), keep_ratio=False),
        dict(type='TorchvisionCenterCrop', crop_size=112), pipeline[3]]
    with pytest.raises(ValueError, match='bilinearly'):
        with_torchvision_transforms([dict(pipeline[1], interpolation='area'), pipeline[2]])
    with pytest.raises(ValueError, match='expected a Resize and a CenterCrop'):
        with_torchvision_transforms(pipeline[:2])
    with pytest.raises(ValueError, match="'keypoint' is not supported"):
        TorchvisionCenterCrop(112)(dict(imgs=[], img_shape=(128, 171), keypoint=np.zeros(2)))
