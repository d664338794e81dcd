"""Feature extraction in ONNX Runtime and OpenVINO: the features equal PyTorch's, the graph is
exported once and reused, and a graph or runtime that does not match is refused."""
import numpy as np
import pytest
from helpers import write_video

from r21d_plugin.apis.features import runtime as features_runtime
from r21d_plugin.apis.features import FeatureExtractor, extract_video_features
from r21d_plugin.apis.features.runtime import FEATURE_TOLERANCE, RuntimeMismatchError
from r21d_plugin.apis.loading import load_recognizer
from r21d_plugin.apis.runtimes import RUNTIMES


@pytest.fixture(scope='module')
def model(tiny_recognizers):
    return load_recognizer(*tiny_recognizers['rgb'], device='cpu', labels=False).model


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    return str(write_video(tmp_path_factory.mktemp('video') / 'v.mp4', 40, seed=5))


def features(extractor, video):
    rows = list(extract_video_features(extractor, video))
    return [start for start, _ in rows], np.stack([row for _, row in rows])


@pytest.mark.parametrize('layer, keep_map', [('pool5', False), ('conv3', True)])
@pytest.mark.parametrize('runtime', RUNTIMES)
def test_runtime_features_equal_pytorch(model, video, tmp_path, runtime, layer, keep_map):
    starts, expected = features(FeatureExtractor(model, layer, keep_map), video)
    extractor = FeatureExtractor(model, layer, keep_map)
    verification = extractor.use_runtime(runtime, str(tmp_path))
    assert verification['rgb'] <= FEATURE_TOLERANCE
    got_starts, got = features(extractor, video)
    assert got_starts == starts and got.shape == expected.shape
    assert np.abs(expected).max() > 0.1  # features O(1): the comparison means something
    np.testing.assert_allclose(got, expected, rtol=0, atol=FEATURE_TOLERANCE
                               * np.abs(expected).max())
    assert extractor.settings()['runtime'] == runtime
    (graph, ) = tmp_path.iterdir()
    assert graph.name.startswith(f'rgb-{layer}') and graph.suffix == '.onnx'


def test_the_graph_is_exported_once_and_reused(model, tmp_path, monkeypatch):
    FeatureExtractor(model).use_runtime('onnxruntime', str(tmp_path))
    (graph, ) = tmp_path.iterdir()
    exported = []
    monkeypatch.setattr(features_runtime, 'export_feature_graph',
                        lambda *args: exported.append(args))
    FeatureExtractor(model).use_runtime('openvino', str(tmp_path))
    assert exported == [] and list(tmp_path.iterdir()) == [graph]
    # a graph of another layer named as the file to use is refused
    with pytest.raises(RuntimeMismatchError, match='holds a feature graph made for other'):
        FeatureExtractor(model, 'conv4').use_runtime('openvino', str(tmp_path), str(graph))


def test_a_runtime_that_differs_from_pytorch_is_refused(model, tmp_path, monkeypatch):
    real = features_runtime.onnx_runner

    def off_by_a_percent(*args, **kwargs):
        run = real(*args, **kwargs)
        return lambda clips: run(clips) * 1.01

    monkeypatch.setattr(features_runtime, 'onnx_runner', off_by_a_percent)
    with pytest.raises(RuntimeMismatchError,
                       match=r"openvino gives rgb features that differ from PyTorch's by "
                             r'1\.00e-02 of their scale'):
        FeatureExtractor(model).use_runtime('openvino', str(tmp_path))


def test_runtimes_run_float32_on_the_cpu(model, tmp_path):
    with pytest.raises(ValueError, match='--amp applies to --runtime pytorch'):
        FeatureExtractor(model, amp='bf16').use_runtime('openvino', str(tmp_path))
    assert FeatureExtractor(model).use_runtime('pytorch', str(tmp_path)) == {}
    assert not list(tmp_path.iterdir())
