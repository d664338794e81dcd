"""ONNX Runtime and OpenVINO run the ONNX export with PyTorch's scores."""
import sys

import pytest
import torch
from helpers import random_checkpoint, tiny_recognizer_config

from r21d_plugin.apis.export import export_recognizer, pytorch_scores, random_clips
from r21d_plugin.apis.runtimes import (RUNTIMES, RuntimeUnavailableError, installed_runtimes,
                                       onnx_runner)


@pytest.fixture(scope='module')
def tiny_onnx(tmp_path_factory):
    directory = tmp_path_factory.mktemp('runtimes')
    cfg = tiny_recognizer_config()
    checkpoint = random_checkpoint(cfg, directory / 'tiny.pth')
    return export_recognizer(cfg, str(checkpoint), str(directory / 'tiny.onnx'), crop=32)


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_runtime_scores_equal_pytorch(tiny_onnx, runtime):
    run = onnx_runner(tiny_onnx.path, runtime, threads=1)
    for batch_size in (1, 3):  # the dynamic batch axis
        clips = random_clips(tiny_onnx.spec, batch_size, seed=batch_size)
        expected = pytorch_scores(tiny_onnx.recognizer, clips)
        got = run(clips)
        assert got.shape == expected.shape == (batch_size, 5)
        assert expected.abs().max() > 0.1  # scores O(1): the comparison means something
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_openvino_bfloat16_is_a_different_computation_close_to_float32(tiny_onnx):
    clips = random_clips(tiny_onnx.spec, 2)
    expected = pytorch_scores(tiny_onnx.recognizer, clips)
    low = onnx_runner(tiny_onnx.path, 'openvino', threads=1, precision='bfloat16')(clips)
    assert (low - expected).abs().max() < 0.1 * expected.abs().max()


def test_unavailable_runtimes_and_settings_are_named(tiny_onnx, monkeypatch):
    with pytest.raises(RuntimeUnavailableError, match='float32 only'):
        onnx_runner(tiny_onnx.path, 'onnxruntime', precision='bfloat16')
    with pytest.raises(RuntimeUnavailableError, match="unknown runtime 'tensorrt'"):
        onnx_runner(tiny_onnx.path, 'tensorrt')
    monkeypatch.setitem(sys.modules, 'openvino', None)  # import fails as if not installed
    assert installed_runtimes() == ['onnxruntime']
    with pytest.raises(RuntimeUnavailableError) as error:
        onnx_runner(tiny_onnx.path, 'openvino')
    assert str(error.value) == ('openvino is not installed: the deploy extra installs it, '
                                'pip install -e .[deploy] (onnx, onnxruntime, openvino)')
