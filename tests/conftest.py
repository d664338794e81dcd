"""Shared tiny fixtures.

``tiny_motion_dataset``: the embedded motion dataset at its ``test`` size (8 classes, 32x32
frames, 24 frames per video; 16 train / 8 val / 8 test videos), written once per session.

``tiny_demo_config``: a factory writing a config that trains and 10-clip tests a tiny
network (depth 10, base_channels 8, 8 x 28 x 28 clips) of the paper on that dataset, on
CPU in seconds. It is the demo config with sizes shrunk, so it runs the same code path.

``tiny_recognizers``: (config, checkpoint) of the tiny R(2+1)D and of its flow stream, with
random weights, for the use side (predict, timelines, tools/infer.py).
"""
import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, Tuple

import pytest
from helpers import random_checkpoint, shrink_demo_config


def pytest_configure(config) -> None:
    """The zoo's cache in a folder of this run, never the user's (``~/.cache/r21d_plugin``):
    a test that fetched a published file by mistake finds no cached copy to hide it."""
    os.environ['R21D_HOME'] = tempfile.mkdtemp(prefix='r21d-test-cache-')


@pytest.fixture(scope='session')
def tiny_motion_dataset(tmp_path_factory) -> Path:
    """Root of a tiny motion dataset (``train.txt``, ``val.txt``, ``test.txt``, videos)."""
    from r21d_plugin.data.prep.motion_dataset import generate_motion_dataset

    root = tmp_path_factory.mktemp('tiny_motion')
    generate_motion_dataset(str(root), size='test', seed=0, progress=False)
    return root


@pytest.fixture(scope='session')
def tiny_demo_config(tiny_motion_dataset, tmp_path_factory) -> Callable[..., Path]:
    """``make(network='R(2+1)D', **sizes)`` -> path of a new tiny config (see module doc)."""

    def make(network: str = 'R(2+1)D', **sizes) -> Path:
        name = network.replace('(', '').replace(')', '').replace('+', 'p').lower()
        return shrink_demo_config(network, tiny_motion_dataset,
                                  tmp_path_factory.mktemp('config') / f'tiny_{name}.py',
                                  **sizes)

    return make


@pytest.fixture(scope='session')
def tiny_recognizers(tiny_demo_config, tmp_path_factory) -> Dict[str, Tuple[str, str]]:
    """``{'rgb': (config, checkpoint), 'flow': (config, checkpoint)}`` (see module doc)."""
    directory = tmp_path_factory.mktemp('tiny_recognizers')
    rgb, flow = tiny_demo_config('R(2+1)D'), tiny_demo_config('R(2+1)D-flow')
    return dict(rgb=(str(rgb), str(random_checkpoint(rgb, directory / 'rgb.pth', seed=1))),
                flow=(str(flow), str(random_checkpoint(flow, directory / 'flow.pth', seed=2))))
