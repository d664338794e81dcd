"""Training pipelines decode with torchcodec (``TorchCodecInit`` / ``TorchCodecDecode``) or
PyAV (MMAction2's ``PyAVInit`` / ``PyAVDecode``): the same frames as ``DecordDecode``, and a
config using them trains and tests."""
import numpy as np
import pytest
import torch
from helpers import rotated_mp4, shrink_demo_config, write_h264_video
from mmaction.registry import TRANSFORMS
from mmengine import Config
from mmengine.runner import Runner

from r21d_plugin.data.decoders import DECODERS, VideoReadError

STEPS = {'decord': ('DecordInit', 'DecordDecode'), 'pyav': ('PyAVInit', 'PyAVDecode'),
         'torchcodec': ('TorchCodecInit', 'TorchCodecDecode')}
INSTALLED = {name: DECODERS[name].available() for name in STEPS}


def _decoded(path: str, backend: str) -> np.ndarray:
    init, decode = STEPS[backend]
    steps = [TRANSFORMS.build(dict(type=init)),
             TRANSFORMS.build(dict(type='SampleFrames', clip_len=4, frame_interval=3,
                                   num_clips=3, test_mode=True)),
             TRANSFORMS.build(dict(type=decode))]
    results = dict(filename=path, start_index=0, modality='RGB')
    for step in steps:
        results = step(results)
    return np.stack(results['imgs'])


@pytest.mark.skipif(not INSTALLED['torchcodec'], reason='torchcodec is not installed')
def test_torchcodec_steps_decode_the_frames_decord_and_pyav_steps_do(tmp_path):
    path = str(write_h264_video(tmp_path / 'h264.mp4', 30))
    frames = _decoded(path, 'torchcodec')
    assert frames.shape == (12, 48, 64, 3)
    for other in ('decord', 'pyav'):
        if INSTALLED[other]:
            np.testing.assert_array_equal(frames, _decoded(path, other))
    rotated = tmp_path / 'rotated.mp4'
    rotated.write_bytes(rotated_mp4((tmp_path / 'h264.mp4').read_bytes(), 90))
    # upright as DecordDecode returns it (MMAction2's PyAVDecode keeps the stored frames)
    np.testing.assert_array_equal(_decoded(str(rotated), 'torchcodec'),
                                  np.rot90(frames, -1, axes=(1, 2)))
    missing = TRANSFORMS.build(dict(type='TorchCodecInit'))
    with pytest.raises(VideoReadError, match=r'nothing\.mp4: no such file'):
        missing(dict(filename=str(tmp_path / 'nothing.mp4')))


@pytest.mark.parametrize('backend', [
    pytest.param(name, marks=pytest.mark.skipif(not INSTALLED[name],
                                                reason=f'{name} is not installed'))
    for name in ('pyav', 'torchcodec')])
def test_a_config_decoding_with_it_trains_and_tests(tiny_motion_dataset, tmp_path, backend):
    path = shrink_demo_config('R(2+1)D', tiny_motion_dataset, tmp_path / 'tiny.py')
    cfg = Config.fromfile(str(path))
    replace = dict(zip(STEPS['decord'], STEPS[backend]))
    for split in ('train', 'val', 'test'):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        for step in pipeline:
            if step['type'] in replace:
                kind = step['type']
                step.clear()
                step['type'] = replace[kind]
        assert [step['type'] for step in pipeline][0] == STEPS[backend][0]
    cfg.update(work_dir=str(tmp_path / 'work'), launcher='none')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = runner.test()
    finally:
        torch.set_num_threads(threads)
    assert runner.iter == len(runner.train_dataloader) > 0
    assert 0 <= metrics['acc/video@1'] <= 1
