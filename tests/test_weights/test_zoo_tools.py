"""A published model's name wherever a checkpoint is taken: r21d-infer (fetch, convert and
infer in one command; then offline from the cache), load_recognizer, r21d-extract-features,
r21d-export, r21d-test; a wrong name, a wrong file or no network: status 2, one message."""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import REPO, free_port, write_annotation, write_video
from mmengine.config import Config

from r21d_plugin.apis import load_recognizer
from r21d_plugin.cli import export, extract_features, infer
from r21d_plugin.cli import test as test_tool
from r21d_plugin.zoo import checkpoint_path, get_checkpoint, model_info


def one_clip(name: str) -> list:
    """``--cfg-options`` that test one clip instead of ten (a full-size network on CPU)."""
    cfg = Config.fromfile(model_info(name).config)
    index = next(i for i, step in enumerate(cfg.test_pipeline) if step.type == 'SampleFrames')
    return ['--cfg-options', f'test_pipeline.{index}.num_clips=1']


@pytest.fixture
def video(tmp_path):
    return str(write_video(tmp_path / 'clip.mp4', 40))


def test_fetch_convert_and_infer_in_one_command_then_offline(zoo, video, capsys):
    name = zoo.names['caffe2']
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools/infer.py'), name, video, '--no-progress',
         *one_clip(name)], cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, 'OMP_NUM_THREADS': '1'})

    assert done.returncode == 0, done.stderr[-3000:]
    assert f'{name}: downloading {zoo.server.url}{zoo.paths["caffe2"]}' in done.stderr
    assert f'{name}: converted {model_info(name).file} -> {checkpoint_path(name)}' in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f'[1/1] {video} (40 frames at 10.00 fps; 1 clips of 8 frames)'
    assert len(lines) == 6 and all(': 0.' in line for line in lines[1:])
    # The same scores as the config and the converted checkpoint give, loaded by hand.
    recognizer = load_recognizer(model_info(name).config, checkpoint_path(name))
    assert lines[1].split(':')[0].strip() in recognizer.labels

    # Offline: from the cache, the publisher gone.
    zoo.server.files.clear()
    assert infer.main([name, video, '--no-progress', *one_clip(name)]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}


def test_load_recognizer_by_name(zoo):
    name = zoo.names['torchvision']
    recognizer = load_recognizer(name)
    expected = torch.load(get_checkpoint(name), weights_only=True)['state_dict']
    state = recognizer.model.state_dict()
    assert all(torch.equal(state[key], value) for key, value in expected.items())
    assert recognizer.labels[0] == 'abseiling' and len(recognizer.labels) == 400


def test_extract_features_and_export_by_name(zoo, video, tmp_path):
    name = zoo.names['caffe2']
    out = tmp_path / 'features'
    assert extract_features.main([name, video, str(out), '--no-progress']) == 0
    features = np.load(out / 'clip.npy')
    assert features.shape == (5, 512) and np.isfinite(features).all()

    onnx = tmp_path / 'mc3.onnx'
    assert export.main([name, '--format', 'onnx', '--out', str(onnx)]) == 0
    assert onnx.stat().st_size > 40e6  # the converted weights, not an empty graph
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}


def test_test_by_name(zoo, tmp_path):
    name = zoo.names['caffe2']
    for index in range(2):
        write_video(tmp_path / f'{index}.mp4', 24, seed=index)
    annotation = write_annotation(tmp_path / 'test.txt', ['0.mp4 3', '1.mp4 5'])
    cfg = Config.fromfile(model_info(name).config)
    index = next(i for i, step in enumerate(cfg.test_dataloader.dataset.pipeline)
                 if step.type == 'SampleFrames')
    assert test_tool.main([
        name, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.ann_file={annotation}',
        f'test_dataloader.dataset.data_prefix.video={tmp_path}',
        f'test_dataloader.dataset.pipeline.{index}.num_clips=1',
        'test_dataloader.num_workers=0']) == 0
    assert zoo.server.requests == {zoo.paths['caffe2']: 1}


def test_wrong_name_wrong_file_and_no_network_stop_with_one_message(zoo, video, monkeypatch,
                                                                    capsys):
    def fails_with(argv, message):
        assert infer.main(argv) == 2
        err = capsys.readouterr().err  # after the download's progress lines, if any
        assert err.endswith(f': error: {message}\n') and 'Traceback' not in err, err

    with monkeypatch.context() as packaged:  # the shipped metafile's models
        packaged.delenv('R21D_METAFILE')
        fails_with(['r2plus1d_r34_vmz-ig65m-pretrained_8x1x10_kinetic400-rgb', video],
                   "config not found: 'r2plus1d_r34_vmz-ig65m-pretrained_8x1x10_kinetic400-rgb' "
                   f'is no file (from {REPO}) and no config under {REPO / "configs"}; did you '
                   'mean pretrained/r2plus1d_r34_vmz_8x1x10_kinetics400-rgb.py or '
                   'pretrained/r2plus1d_r34_vmz_32x1x10_kinetics400-rgb.py or '
                   'pretrained/r2plus1d_r18_vmz_8x1x10_kinetics400-rgb.py, or the published '
                   'model r2plus1d_r34_vmz-ig65m-pretrained_8x1x10_kinetics400-rgb or '
                   'r2plus1d_r34_vmz-ig65m-pretrained_32x1x10_kinetics400-rgb or '
                   'r2plus1d_r34_vmz-sports1m-pretrained_32x1x10_kinetics400-rgb?')

    name, path = zoo.names['torchvision'], zoo.paths['torchvision']
    info = model_info(name)
    zoo.server.files[path] = b'a different file'
    digest = hashlib.sha256(b'a different file').hexdigest()
    fails_with([name, video], f'{zoo.server.url}{path}: SHA-256 {digest} does not start with '
               f'{info.sha256_prefix}, the prefix the metafile gives for {info.file}: refused, '
               f'nothing was cached')

    unreachable = f'http://127.0.0.1:{free_port()}'
    monkeypatch.setenv('R21D_WEIGHTS_MIRROR', unreachable)
    fails_with([name, video], f'cannot download {unreachable}/{info.file} (Connection '
               f'refused). Without network access, fetch that file elsewhere and put it at '
               f'{zoo.cache}/downloads/{info.file}')
