"""Shared tiny fixtures.

``tiny_motion_dataset``: the embedded motion dataset at its ``test`` size (8 classes, 32x32
frames, 24 frames per video; 16 train / 8 val / 8 test videos), written once per session.

``tiny_demo_config``: a factory writing a config that trains and 10-clip tests a tiny
network (depth 10, base_channels 8, 8 x 28 x 28 clips) of the paper on that dataset, on
CPU in seconds. It is the demo config with sizes shrunk, so it runs the same code path.
"""
import os.path as osp
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIGS = {
    'R(2+1)D': REPO / 'configs/demo/r2plus1d-r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
    'f-R2D': REPO / 'configs/demo/fr2d-r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
}


@pytest.fixture(scope='session')
def tiny_motion_dataset(tmp_path_factory) -> Path:
    """Root of a tiny motion dataset (``train.txt``, ``val.txt``, ``test.txt``, videos)."""
    from r21d_plugin.data.motion_dataset import generate_motion_dataset

    root = tmp_path_factory.mktemp('tiny_motion')
    generate_motion_dataset(str(root), size='test', seed=0, progress=False)
    return root


def shrink_demo_config(network: str, data_root: Path, out_file: Path,
                       crop_size: int = 28, base_channels: int = 8,
                       max_epochs: int = 1) -> Path:
    """Write the demo config of ``network`` at tiny sizes, reading ``data_root``."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(DEMO_CONFIGS[network]))
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=4 if split == 'train' else 1, num_workers=0,
                      persistent_workers=False)
        loader.dataset.ann_file = osp.join(str(data_root), f'{split}.txt')
        loader.dataset.data_prefix = dict(video=str(data_root))
        for transform in loader.dataset.pipeline:
            if transform['type'] == 'RandomCrop':
                transform['size'] = crop_size
            elif transform['type'] == 'CenterCrop':
                transform['crop_size'] = crop_size
    cfg.model.backbone.base_channels = base_channels
    cfg.model.cls_head.in_channels = base_channels * 8
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]  # no TensorBoard start-up
    cfg.randomness = dict(seed=0)
    cfg.dump(str(out_file))
    return out_file


@pytest.fixture(scope='session')
def tiny_demo_config(tiny_motion_dataset, tmp_path_factory) -> Callable[..., Path]:
    """``make(network='R(2+1)D', **sizes)`` -> path of a new tiny config (see module doc)."""

    def make(network: str = 'R(2+1)D', **sizes) -> Path:
        name = network.replace('(', '').replace(')', '').replace('+', 'p').lower()
        return shrink_demo_config(network, tiny_motion_dataset,
                                  tmp_path_factory.mktemp('config') / f'tiny_{name}.py',
                                  **sizes)

    return make
