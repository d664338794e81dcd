"""ONNX and TorchScript export: every network, verified; only standard operators; errors."""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from helpers import REPO, random_checkpoint, tiny_recognizer_config, write_video
from mmengine.config import Config

from r21d_plugin.apis import ClipPipeline, export
from r21d_plugin.apis.clip_pipeline import config_test_pipeline
from r21d_plugin.apis.export import (ExportError, check_exportable, export_recognizer,
                                     input_spec, nonstandard_onnx_operators,
                                     nonstandard_torchscript_operators, onnx_operators,
                                     torchscript_operators)
from r21d_plugin.apis.loading import (RecognizerLoadError, build_model, load_config,
                                      load_model)
from r21d_plugin.engine.checkpoint_loading import CheckpointMismatchError
from r21d_plugin.models import PAPER_NAMES, fast_paths

#: Width-4 overrides of a real config (the head follows the last stage's channels).
TINY = {'model.backbone.base_channels': 4, 'model.cls_head.in_channels': 32}


def tiny_export(tmp_path: Path, network: str = 'R(2+1)D', fmt: str = 'onnx',
                in_channels: int = 3, **options):
    cfg = tiny_recognizer_config(network, in_channels=in_channels)
    checkpoint = random_checkpoint(cfg, tmp_path / 'tiny.pth')
    return export_recognizer(cfg, str(checkpoint), str(tmp_path / f'tiny.{fmt}'), fmt=fmt,
                             crop=32, **options)


def assert_standard_graph(result) -> None:
    if result.format == 'onnx':
        assert {domain for domain, _ in onnx_operators(result.path)} == {''}
        assert nonstandard_onnx_operators(result.path) == []
    else:
        module = torch.jit.load(result.path)
        kinds = torchscript_operators(module)
        assert 'aten::_convolution' in kinds or 'aten::conv3d' in kinds
        assert not [kind for kind in kinds if 'mkldnn' in kind]
        assert nonstandard_torchscript_operators(module) == []


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
@pytest.mark.parametrize('network', PAPER_NAMES)
def test_every_network_exports_and_verifies(tmp_path, network, fmt):
    result = tiny_export(tmp_path, network, fmt, verify=True)
    runtimes = ['onnxruntime', 'openvino'] if fmt == 'onnx' else ['torchscript']
    assert [(row['runtime'], row['batch_size']) for row in result.verification] == [
        (runtime, batch_size) for runtime in runtimes for batch_size in (1, 2)]
    assert result.passed, result.verification
    # Random BN statistics and weights keep the scores O(1): the check means something.
    assert all(row['scale'] > 0.1 for row in result.verification)
    assert_standard_graph(result)
    sidecar = json.loads(Path(result.sidecar_path).read_text())
    assert sidecar['input']['shape'] == ['batch', 3, 8, 32, 32]
    assert sidecar['output'] == dict(name='logits', shape=['batch', 5], kind='logits')
    assert sidecar['verification']['passed'] is True


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_flow_network_takes_two_channels(tmp_path, fmt):
    result = tiny_export(tmp_path, 'R(2+1)D', fmt, in_channels=2, verify=True)
    assert result.passed, result.verification
    assert result.description['input']['shape'][1] == 2
    assert result.description['input']['modality'] == 'Flow'
    assert result.description['input']['normalization']['mean'] == [0.0046635, 0.0046261]


def test_graph_normalises_inside_and_matches_the_recognizer_by_hand(tmp_path):
    """Feeding 0..255 RGB to the file equals backbone + head on (clips - mean) / std."""
    result = tiny_export(tmp_path, 'R3D')
    clips = export.random_clips(result.spec, 3, seed=7)
    mean = torch.tensor([110.201, 100.64, 95.9966]).view(1, 3, 1, 1, 1)
    std = torch.tensor([58.1489, 56.4701, 55.3324]).view(1, 3, 1, 1, 1)
    recognizer = result.recognizer
    with torch.no_grad(), fast_paths.plain_paths():
        expected = recognizer.cls_head(recognizer.backbone((clips - mean) / std))
    got = export.exported_runner(result.path, 'onnx')(clips)
    assert torch.allclose(got, expected, rtol=0, atol=1e-4 * float(expected.abs().max()))


def test_export_ignores_the_fast_path_switch_and_keeps_it(tmp_path):
    """Fast paths on before the export: still a standard graph, and still on after."""
    fast_paths.set_fast_paths(True)
    result = tiny_export(tmp_path, 'R(2+1)D', 'torchscript')
    assert_standard_graph(result)
    assert fast_paths.fast_paths_active()


def test_private_operators_are_caught(tmp_path):
    """The graph checks flag what a fast path would leave: a oneDNN op, a foreign domain."""

    class OneDNNConv(nn.Module):
        def forward(self, x):
            return torch.ops.aten.mkldnn_convolution(
                x, torch.ones(2, 2, 1, 1, 1), None, [0, 0, 0], [1, 1, 1], [1, 1, 1], 1)

    traced = torch.jit.trace(OneDNNConv(), torch.ones(1, 2, 2, 4, 4))
    assert nonstandard_torchscript_operators(traced) == ['aten::mkldnn_convolution']

    node = onnx.helper.make_node('FusedConv', ['x'], ['y'], domain='com.microsoft')
    graph = onnx.helper.make_graph(
        [node, onnx.helper.make_node('Relu', ['y'], ['z'])], 'g',
        [onnx.helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info('z', onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(graph), str(tmp_path / 'foreign.onnx'))
    assert nonstandard_onnx_operators(str(tmp_path / 'foreign.onnx')) == [
        'com.microsoft::FusedConv']


def test_fixed_batch_softmax_and_opset(tmp_path):
    result = tiny_export(tmp_path, 'MC3', batch_size=3, softmax=True, opset=11, verify=True)
    assert [row['batch_size'] for row in result.verification] == [3, 3, 3, 3]
    assert result.passed
    model = onnx.load(result.path)
    dims = [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 3, 8, 32, 32]
    assert model.graph.output[0].name == 'probs'
    assert [opset.version for opset in model.opset_import if opset.domain == ''] == [11]
    probs = export.exported_runner(result.path, 'onnx')(export.random_clips(result.spec, 3))
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-5)


def test_newest_opset_exports(tmp_path):
    result = tiny_export(tmp_path, 'R(2+1)D', opset=20, verify=True)
    assert result.passed
    assert result.description['exporter'].startswith(
        'torch.onnx.export (TorchScript-based), opset 20')


def test_description_is_stored_in_the_file_and_beside_it(tmp_path):
    onnx_result = tiny_export(tmp_path, 'rMC4')
    sidecar = json.loads(Path(onnx_result.sidecar_path).read_text())
    props = {prop.key: prop.value for prop in onnx.load(onnx_result.path).metadata_props}
    assert json.loads(props['r21d_plugin']) == sidecar
    assert sidecar['clip_len'] == 8 and sidecar['crop'] == [32, 32]
    assert sidecar['model']['backbone'] == 'ReversedMixedConvResNet'
    assert len(sidecar['model']['checkpoint_sha256']) == 64

    ts_result = tiny_export(tmp_path, 'rMC4', 'torchscript')
    files = {'r21d_plugin.json': ''}
    torch.jit.load(ts_result.path, _extra_files=files)
    assert json.loads(files['r21d_plugin.json']) == json.loads(
        Path(ts_result.sidecar_path).read_text())


def test_full_size_r2plus1d_18_exports_and_verifies(tmp_path):
    """The real network (33M parameters), 8 x 112 x 112 clips, initial weights."""
    cfg = tiny_recognizer_config('R(2+1)D', depth=18, num_classes=400)
    cfg.model.backbone.base_channels = 64
    cfg.model.cls_head.in_channels = 512
    result = export_recognizer(cfg, None, str(tmp_path / 'r2plus1d_18.onnx'), verify=True)
    assert result.passed, result.verification
    assert_standard_graph(result)
    assert result.description['input']['shape'] == ['batch', 3, 8, 112, 112]
    nodes = [node.op_type for node in onnx.load(result.path).graph.node]
    convs = [m for m in result.recognizer.modules() if isinstance(m, nn.Conv3d)]
    # Every conv of the network, its BatchNorm folded in by the exporter; one fc.
    assert (nodes.count('Conv'), nodes.count('BatchNormalization'), nodes.count('Gemm')) == (
        len(convs), 0, 1)


@pytest.mark.parametrize('config', sorted((REPO / 'configs/pretrained').glob('*.py')),
                         ids=lambda path: path.stem)
def test_pretrained_configs_export(tmp_path, config):
    """Each pretrained config (its depth, stem, mid-channel rule, BN eps, classes) at width 4."""
    cfg = load_config(str(config), TINY)
    # torchvision's configs leave the clip length to the input (its weights: 16 frames).
    clip_len = None if cfg.model.backbone.clip_len or config_test_pipeline(cfg) else 16
    result = export_recognizer(cfg, None, str(tmp_path / 'model.onnx'), clip_len=clip_len,
                               crop=32, verify=True)
    assert result.passed, result.verification
    assert result.description['num_classes'] == cfg.model.cls_head.num_classes


EXPERIMENT_CONFIGS = sorted([*(REPO / 'configs/kinetics').glob('*.py'),
                             *(REPO / 'configs/sports1m').glob('*.py')])


@pytest.mark.parametrize('config', EXPERIMENT_CONFIGS, ids=lambda path: path.stem)
def test_experiment_configs_give_their_input(config):
    """Every Kinetics / Sports-1M config: the clips its test pipeline feeds (three-crop
    tests: 128 x 128 squares)."""
    cfg = load_config(str(config), dict(TINY, **{'model.backbone.depth': 10}))
    recognizer = build_model(cfg)
    spec = input_spec(cfg, recognizer.backbone)
    sampled = export.test_sampler(config_test_pipeline(cfg))['clip_len']
    flow = cfg.model.backbone.in_channels == 2
    crop = 128 if '3crop' in config.stem else 112
    assert (spec.channels, spec.clip_len, spec.crop) == (
        2 if flow else 3, sampled - flow, (crop, crop))


def docs_example() -> str:
    """The 10-line ONNX Runtime example of docs/deploy.md."""
    text = (REPO / 'docs/deploy.md').read_text()
    section = text[text.index('## Feeding it'):]
    return section[section.index('```python\n') + len('```python\n'):section.index('```\n\n')]


def test_docs_example_feeds_the_file_as_the_config_does(tmp_path, monkeypatch):
    """The docs' decoding, resize and crop + the file = the config's test pipeline + PyTorch."""
    assert len(docs_example().splitlines()) == 10
    cfg = tiny_recognizer_config('R(2+1)D')
    # The paper's test preprocessing, as the Kinetics configs run it.
    cfg.test_pipeline = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/kinetics400_rgb.py')).test_pipeline
    checkpoint = random_checkpoint(cfg, tmp_path / 'tiny.pth')
    result = export_recognizer(cfg, str(checkpoint), str(tmp_path / 'r2plus1d_r18.onnx'))
    write_video(tmp_path / 'my_video.mp4', 12)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(docs_example(), namespace)

    video = cv2.VideoCapture(str(tmp_path / 'my_video.mp4'))
    frames = [cv2.cvtColor(video.read()[1], cv2.COLOR_BGR2RGB) for _ in range(8)]
    packed = ClipPipeline(cfg.test_pipeline)([np.stack(frames)])
    expected = export.pytorch_scores(result.recognizer, packed['inputs'].float())
    scale = float(expected.abs().max())
    assert scale > 0.1
    assert float((torch.from_numpy(namespace['logits']) - expected).abs().max()) < 1e-4 * scale


# ----------------------------------------------------------------------------- errors


def test_rgb_checkpoint_with_flow_config_is_refused(tmp_path):
    checkpoint = random_checkpoint(tiny_recognizer_config(), tmp_path / 'rgb.pth')
    with pytest.raises(CheckpointMismatchError) as error:
        export_recognizer(tiny_recognizer_config(in_channels=2), str(checkpoint),
                          str(tmp_path / 'x.onnx'))
    assert str(error.value) == (
        f'checkpoint {checkpoint} takes 3-channel RGB input, but the config builds a network '
        f'for 2-channel optical flow (dx, dy) input: use the RGB config of this checkpoint')
    assert not (tmp_path / 'x.onnx').exists()


def test_checkpoint_of_other_classes_and_network_is_refused(tmp_path):
    checkpoint = random_checkpoint(tiny_recognizer_config(num_classes=7),
                                         tmp_path / 'seven.pth')
    with pytest.raises(CheckpointMismatchError, match=r'^checkpoint .*seven.pth has 7 classes '
                       r'\(cls_head.fc_cls.weight\) but the config builds 5 '
                       r'\(model.cls_head.num_classes\)'):
        export_recognizer(tiny_recognizer_config(), str(checkpoint), str(tmp_path / 'x.onnx'))

    checkpoint = random_checkpoint(tiny_recognizer_config('R3D'), tmp_path / 'r3d.pth')
    with pytest.raises(CheckpointMismatchError, match=r'^checkpoint .*r3d.pth does not fit the '
                       r'config: .*keys missing from the checkpoint \(backbone.conv1.conv.'
                       r'spatial.weight, .*keys not in the network \(backbone.conv1.conv.'
                       r'weight, '):
        export_recognizer(tiny_recognizer_config(), str(checkpoint), str(tmp_path / 'x.onnx'))


def test_unreadable_checkpoint_is_named(tmp_path):
    with pytest.raises(RecognizerLoadError, match=r'^checkpoint .*missing.pth: no such file'):
        export_recognizer(tiny_recognizer_config(), str(tmp_path / 'missing.pth'),
                          str(tmp_path / 'x.onnx'))


@pytest.mark.parametrize('options, message', [
    (dict(fmt='tflite'), "unknown format 'tflite': choose one of onnx, torchscript"),
    (dict(fmt='torchscript', opset=17), '--opset applies to --format onnx only'),
    (dict(fmt='torchscript', batch_size=4),
     'a TorchScript module takes any batch size: --batch-size N applies to --format onnx '
     'only'),
    (dict(opset=9), '--opset 9 is not supported: choose 11 to 20'),
    (dict(batch_size=0), '--batch-size must be positive, got 0'),
    (dict(clip_len=16, network='R2D'),
     "the config: R2D's conv1 spans exactly 8 frames, so the network cannot take 16-frame "
     'clips'),
])
def test_unsupported_options_are_refused(tmp_path, options, message):
    cfg = tiny_recognizer_config(options.pop('network', 'R(2+1)D'))
    with pytest.raises(ExportError) as error:
        export_recognizer(cfg, None, str(tmp_path / 'x.onnx'), **options)
    assert str(error.value) == message


def test_config_without_clip_length_asks_for_one(tmp_path):
    cfg = tiny_recognizer_config()
    cfg.model.backbone.clip_len = None
    with pytest.raises(ExportError) as error:
        export_recognizer(cfg, None, str(tmp_path / 'x.onnx'))
    assert str(error.value) == ('the config fixes no clip length (no test pipeline samples '
                                'frames and model.backbone.clip_len is None): pass --clip-len')
    assert export_recognizer(cfg, None, str(tmp_path / 'x.onnx'), clip_len=4,
                             crop=32).description['clip_len'] == 4


def test_missing_deploy_extra_is_named_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails as if not installed
    with pytest.raises(ExportError) as error:
        export_recognizer(tiny_recognizer_config(), None, str(tmp_path / 'x.onnx'),
                          verify=True)
    assert str(error.value) == ('onnxruntime is not installed: ONNX export and its '
                                'verification need the deploy extra, pip install -e '
                                '.[deploy] (onnx, onnxruntime, openvino)')
    assert not list(tmp_path.iterdir())


def test_two_stream_config_is_refused_with_what_to_do():
    config = next((REPO / 'configs/two_stream').glob('*kinetics400-two-stream.py'))
    with pytest.raises(ExportError) as error:
        check_exportable(load_config(str(config)), str(config))
    assert str(error.value) == (
        f"{config} is a two-stream config: export its RGB and its flow stream's config one "
        f"by one (with --softmax) and average the two files' probabilities, 0.5 x RGB + 0.5 "
        f'x flow')


def test_foreign_backbone_is_refused():
    cfg = Config(dict(model=dict(type='Recognizer3D', backbone=dict(type='ResNet3d'))))
    with pytest.raises(ExportError) as error:
        check_exportable(cfg, 'the config')
    assert str(error.value) == ("the config: export supports the plugin's backbones "
                                "(SpatioTemporalResNet and its presets), not 'ResNet3d'")


def test_the_exported_recognizer_is_float32_eval(tmp_path):
    cfg = tiny_recognizer_config()
    cfg.model.backbone.compute_dtype = 'bfloat16'
    recognizer = load_model(cfg, compute_dtype=None)
    assert recognizer.backbone.compute_dtype is None
    assert not recognizer.training
