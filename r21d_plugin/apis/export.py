"""Export a recognizer to ONNX or TorchScript, and check the file against PyTorch.

What is exported (``ClipClassifier``): one batch of clips ``N x C x L x H x W`` (C = 3 RGB
frames with values 0..255, or 2 channels of Farneback flow in pixels) -> class scores
``N x num_classes``: the config's input normalisation (mean / std of its
``data_preprocessor``, inside the graph), the backbone and the head as trained, in eval
mode, float32; logits, or probabilities with ``softmax``. The clip length and crop are
fixed (R2D's conv1 spans exactly its clip); the batch size may be dynamic. A JSON
description (``<file>.json``, also stored inside the file: ONNX metadata ``r21d_plugin``,
TorchScript extra file ``r21d_plugin.json``) says how to feed it.

**Exporter.** ONNX files come from torch's TorchScript-based exporter
(``torch.onnx.export(dynamo=False)``), TorchScript files from ``torch.jit.trace``: one
capture mechanism for both formats, no dependency beyond ``onnx`` / ``onnxruntime``, opsets
11 to 20, and quick exports. torch's ``torch.export``-based ONNX exporter also verifies on
these networks, but it needs ``onnxscript``, writes opset 18 or later, and exports several
times slower (docs/deploy.md). torch marks the TorchScript-based exporter deprecated; if a
release drops it, ``_export_onnx`` is the one place to change.

**No private ops.** The CPU fast paths (``models.fast_paths``) step aside while a graph is
captured, and the export runs inside ``fast_paths.plain_paths()`` besides; every exported
graph is then checked: an ONNX file may hold only standard operators of the default ONNX
domain, a TorchScript graph only ``aten::`` / ``prim::`` operators, none of oneDNN's and
no Python calls.
"""
import contextlib
import copy
import importlib
import json
import logging
import os
import os.path as osp
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..models import CollapsingConv3d, SpatioTemporalResNet, fast_paths
from ..weights.convert import file_sha256
from .clip_pipeline import LOADING_STEPS, _step_type, config_test_pipeline

FORMATS = ('onnx', 'torchscript')
#: Opsets the TorchScript-based exporter writes for these networks (tested at both ends).
OPSET_RANGE = (11, 20)
#: The default opset: onnxruntime and TensorRT (8.6 and later) read it.
DEFAULT_OPSET = 17
#: Largest |difference| between the exported file and PyTorch, relative to the largest
#: |score| PyTorch gives, that verification accepts.
VERIFY_TOLERANCE = 1e-4
INPUT_NAME = 'clips'
#: Name of the JSON description inside an exported file.
METADATA_KEY = 'r21d_plugin'
#: The paper's crop, where a config's test pipeline names none.
DEFAULT_CROP = 112


class ExportError(ValueError):
    """A config, checkpoint or option that cannot be exported; the message says why."""


@dataclass
class InputSpec:
    """The fixed input of an exported network (``N x channels x clip_len x H x W``).

    Attributes:
        channels (int): 3 (RGB) or 2 (flow).
        clip_len (int): frames per clip.
        crop (tuple[int, int]): height and width of a clip.
        batch_size (int, optional): fixed batch size; None for a dynamic one.
        mean (list[float]): per-channel mean subtracted inside the graph.
        std (list[float]): per-channel std divided by inside the graph.
    """

    channels: int
    clip_len: int
    crop: Tuple[int, int]
    batch_size: Optional[int]
    mean: List[float] = field(default_factory=list)
    std: List[float] = field(default_factory=list)

    def shape(self, batch_size: Optional[int] = None) -> Tuple[int, ...]:
        """The input shape for ``batch_size`` clips (default: the fixed batch, else 1)."""
        return (batch_size or self.batch_size or 1, self.channels, self.clip_len) + self.crop

    @property
    def modality(self) -> str:
        return 'Flow' if self.channels == 2 else 'RGB'


@dataclass
class ExportResult:
    """What ``export_recognizer`` wrote and how the file compared with PyTorch.

    Attributes:
        path (str): the exported file.
        sidecar_path (str): its JSON description (``path + '.json'``).
        description (dict): the content of the sidecar.
        spec (InputSpec): the input the file takes.
        recognizer (nn.Module): the PyTorch recognizer it was exported from (eval).
        verification (list[dict], optional): per run, ``batch_size``, ``max_abs_diff``,
            ``scale`` (the largest |score| of PyTorch) and ``relative_diff``; None if
            not verified.
    """

    path: str
    sidecar_path: str
    description: dict
    spec: InputSpec
    recognizer: nn.Module = field(repr=False)
    verification: Optional[List[dict]] = None

    @property
    def format(self) -> str:
        return self.description['format']

    @property
    def passed(self) -> bool:
        """Whether every verified run was within ``VERIFY_TOLERANCE``."""
        return self.verification is not None and all(
            row['relative_diff'] <= VERIFY_TOLERANCE for row in self.verification)


class ClipClassifier(nn.Module):
    """A recognizer's test path on a batch of clips, as one exportable module.

    ``(clips - mean) / std``, then the backbone, then the head (``I3DHead``: average pool,
    fc), then optionally softmax, on ``N x C x L x H x W`` float32 clips: what
    ``MultiClipRecognizer3D`` computes for each clip before averaging clips.

    Args:
        backbone (nn.Module): the recognizer's backbone.
        cls_head (nn.Module): the recognizer's head.
        mean (Sequence[float]): per-channel mean of the data preprocessor.
        std (Sequence[float]): per-channel std of the data preprocessor.
        softmax (bool): return probabilities instead of logits. Default: False.
    """

    def __init__(self, backbone: nn.Module, cls_head: nn.Module, mean: Sequence[float],
                 std: Sequence[float], softmax: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head
        self.register_buffer('mean', torch.tensor(mean).float().view(1, -1, 1, 1, 1))
        self.register_buffer('std', torch.tensor(std).float().view(1, -1, 1, 1, 1))
        self.softmax = softmax

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        scores = self.cls_head(self.backbone((clips - self.mean) / self.std))
        return scores.softmax(dim=-1) if self.softmax else scores


# --------------------------------------------------------------------------- the model


def _config_name(config: Union[str, Config]) -> str:
    return config if isinstance(config, str) else (config.filename or 'the config')


def load_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """The config (a path, or a ``Config``, copied) with ``--cfg-options`` style overrides.

    Raises:
        ExportError: the config's model is not one ``ClipClassifier`` reproduces.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    _check_exportable(cfg, _config_name(config))
    return cfg


def _check_exportable(cfg: Config, name: str) -> None:
    """Refuse recognizers ``ClipClassifier`` does not reproduce, saying what to do."""
    from mmaction.registry import MODELS
    model = cfg.get('model')
    if model is None:
        raise ExportError(f'{name} has no model')
    if model.get('type') == 'TwoStreamRecognizer':
        alpha = model.get('fusion_alpha', 0.5)
        raise ExportError(
            f"{name} is a two-stream config: export its RGB and its flow stream's config "
            f"one by one (with --softmax) and average the two files' probabilities, "
            f'{alpha:g} x RGB + {1 - alpha:g} x flow')
    backbone = model.get('backbone') or {}
    backbone_type = MODELS.get(backbone.get('type', ''))
    if backbone_type is None or not issubclass(backbone_type, SpatioTemporalResNet):
        raise ExportError(f"{name}: export supports the plugin's backbones "
                          f"(SpatioTemporalResNet and its presets), not "
                          f"{backbone.get('type')!r}")
    if model.get('neck') is not None:
        raise ExportError(f'{name}: a recognizer with a neck cannot be exported (the '
                          f'exported graph is backbone -> head)')
    preprocessor = model.get('data_preprocessor') or {}
    if preprocessor.get('to_rgb'):
        raise ExportError(f'{name}: data_preprocessor.to_rgb=True (BGR input) is not '
                          f'supported; the exported graph takes RGB clips')
    if preprocessor.get('format_shape', 'NCTHW') != 'NCTHW':
        raise ExportError(f'{name}: data_preprocessor.format_shape must be NCTHW, got '
                          f"{preprocessor.get('format_shape')!r}")


def _build(cfg: Config, **backbone_overrides) -> nn.Module:
    """The recognizer of ``cfg`` (no weights loaded), float32, in eval mode.

    ``backbone_overrides`` change backbone arguments that leave the weights as they are.
    """
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    model_cfg = copy.deepcopy(cfg.model)
    # Export and verification compute in float32; bf16 autocast is a PyTorch run setting.
    model_cfg.backbone.update(compute_dtype=None, **backbone_overrides)
    model_cfg.backbone.pop('pretrained', None)  # the checkpoint holds the weights
    return MODELS.build(model_cfg).eval()


def _shape_hint(key: str, got: Tuple[int, ...], expected: Tuple[int, ...]) -> str:
    """What a shape difference means, for the two layers users mix up most."""
    if key.endswith('fc_cls.weight') and got[1:] == expected[1:]:
        return f' (classes: checkpoint {got[0]}, config {expected[0]})'
    if (key.startswith('backbone.conv1.') and len(got) == len(expected) == 5
            and got[0] == expected[0] and got[1] != expected[1]):
        kinds = {2: 'flow', 3: 'RGB'}
        return (f' (input channels: checkpoint {got[1]} ({kinds.get(got[1], "?")}), '
                f'config {expected[1]} ({kinds.get(expected[1], "?")}))')
    return ''


def load_weights(model: nn.Module, checkpoint: str, config_name: str) -> None:
    """Load ``checkpoint`` into ``model``: every tensor must be there, with its shape.

    Raises:
        ExportError: naming both files and a few of the mis-shaped, missing and
            unexpected keys (for the classifier and conv1: the classes or input channels
            each side has).
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    try:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    except (OSError, RuntimeError) as error:  # what mmengine and torch raise for bad files
        raise ExportError(f'cannot read checkpoint {checkpoint}: {error}') from error
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise ExportError(f'{checkpoint} holds no state dict')
    state = {key[len('module.'):] if key.startswith('module.') else key: value
             for key, value in state.items()}
    expected = model.state_dict()
    mismatched = [(key, tuple(state[key].shape), tuple(value.shape))
                  for key, value in expected.items()
                  if key in state and tuple(state[key].shape) != tuple(value.shape)]
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if mismatched or missing or unexpected:
        parts = []
        if mismatched:
            parts.append(f'{len(mismatched)} tensors differ in shape (' + '; '.join(
                f'{key}: checkpoint {list(got)}, config {list(want)}'
                f'{_shape_hint(key, got, want)}' for key, got, want in mismatched[:3])
                + ('; ...' if len(mismatched) > 3 else '') + ')')
        for what, keys in (('missing from the checkpoint', missing),
                           ('not in the config', unexpected)):
            if keys:
                parts.append(f'{len(keys)} keys {what} ({", ".join(keys[:3])}'
                             f'{", ..." if len(keys) > 3 else ""})')
        raise ExportError(f'checkpoint {checkpoint} does not fit {config_name}: '
                          + '; '.join(parts))
    model.load_state_dict(state, strict=True)


def recognizer_for_export(cfg: Config, checkpoint: Optional[str] = None,
                          config_name: str = 'the config') -> nn.Module:
    """The config's recognizer in eval mode, float32, with the checkpoint's weights
    (without a checkpoint: its initial weights, ``init_weights``)."""
    recognizer = _build(cfg)
    if checkpoint is None:
        # mmengine logs every parameter's initialisation at INFO: hundreds of lines.
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            recognizer.init_weights()
        finally:
            logger.setLevel(level)
    else:
        load_weights(recognizer, checkpoint, config_name)
    return recognizer.eval()


# --------------------------------------------------------------------------- the input


def _sampler(pipeline: Optional[List[dict]]) -> dict:
    samplers = [step for step in pipeline or [] if _step_type(step) == 'SampleFrames']
    return samplers[0] if len(samplers) == 1 else {}


def _pipeline_clip_len(pipeline: Optional[List[dict]]) -> Optional[int]:
    """Frames per clip the network sees in a test pipeline (flow on the fly: L+1 drawn)."""
    sampler = _sampler(pipeline)
    if 'clip_len' not in sampler:
        return None
    on_the_fly_flow = any(_step_type(step) == 'FarnebackFlow' for step in pipeline)
    return int(sampler['clip_len']) - int(on_the_fly_flow)


def _pipeline_crop(pipeline: Optional[List[dict]]) -> Optional[Tuple[int, int]]:
    for step in pipeline or []:
        if _step_type(step) in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            size = step['crop_size']
            width, height = (size, size) if isinstance(size, int) else size
            return int(height), int(width)
    return None


def input_spec(cfg: Config, backbone: nn.Module, clip_len: Optional[int] = None,
               crop: Optional[int] = None, batch_size: Optional[int] = None,
               config_name: str = 'the config') -> InputSpec:
    """The input the exported network takes: from the options, else from the config.

    Clip length: ``clip_len``, else the test pipeline's (what the config tests with:
    a test-only config may test 32-frame clips on a network trained on 8), else the
    backbone's. Crop: ``crop`` (square), else the test pipeline's crop, else 112.

    Raises:
        ExportError: no clip length anywhere, a clip length R2D's conv1 cannot take,
            non-positive sizes, or a normalisation for other channels than the backbone's.
    """
    pipeline = config_test_pipeline(cfg)
    if clip_len is None:
        clip_len = _pipeline_clip_len(pipeline) or backbone.clip_len
    if clip_len is None:
        raise ExportError(f'{config_name} fixes no clip length (no test pipeline samples '
                          f'frames and model.backbone.clip_len is None): pass --clip-len')
    for name, value in (('--clip-len', clip_len), ('--crop', crop),
                        ('--batch-size', batch_size)):
        if value is not None and value < 1:
            raise ExportError(f'{name} must be positive, got {value}')
    # R2D's conv1 is an L x 7 x 7 kernel: the clip length is part of its weights.
    collapsing = [m for m in backbone.modules() if isinstance(m, CollapsingConv3d)]
    if collapsing and clip_len != collapsing[0].kernel_size[0]:
        raise ExportError(f"{config_name}: R2D's conv1 spans exactly "
                          f'{collapsing[0].kernel_size[0]} frames, so the network cannot '
                          f'take {clip_len}-frame clips')
    channels = backbone.in_channels
    preprocessor = cfg.model.get('data_preprocessor') or {}
    mean = [float(v) for v in preprocessor.get('mean') or [0.0] * channels]
    std = [float(v) for v in preprocessor.get('std') or [1.0] * channels]
    if len(mean) != channels or len(std) != channels:
        raise ExportError(f'{config_name}: the data preprocessor normalises {len(mean)} '
                          f'channels, the backbone takes {channels}')
    return InputSpec(channels=channels, clip_len=int(clip_len),
                     crop=(crop, crop) if crop else _pipeline_crop(pipeline)
                     or (DEFAULT_CROP, DEFAULT_CROP),
                     batch_size=batch_size, mean=mean, std=std)


def random_clips(spec: InputSpec, batch_size: int, seed: int = 0) -> torch.Tensor:
    """Clips shaped and scaled like real input: RGB values 0..255, flow of a few pixels."""
    generator = torch.Generator().manual_seed(seed)
    shape = spec.shape(batch_size)
    if spec.modality == 'RGB':
        return torch.rand(shape, generator=generator) * 255
    return torch.randn(shape, generator=generator) * 2


# --------------------------------------------------------------------------- graphs


def _deploy_module(name: str):
    """``onnx`` or ``onnxruntime``, or an ExportError saying how to install them."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ExportError(f'{name} is not installed: ONNX export and its verification need '
                          f'the deploy extra, pip install -e .[deploy] (onnx, '
                          f'onnxruntime)') from error


def onnx_operators(path: str) -> Set[Tuple[str, str]]:
    """``(domain, op_type)`` of every node of an ONNX file ('' = the default domain)."""
    graph = _deploy_module('onnx').load(path, load_external_data=False).graph
    return {('' if node.domain == 'ai.onnx' else node.domain, node.op_type)
            for node in graph.node}


def nonstandard_onnx_operators(path: str) -> List[str]:
    """Operators of an ONNX file other than the default ONNX domain's standard ones."""
    known = _deploy_module('onnx.defs').has
    return sorted(f'{domain or "ai.onnx"}::{op}' for domain, op in onnx_operators(path)
                  if domain or not known(op))


def torchscript_operators(module: torch.jit.ScriptModule) -> Set[str]:
    """The node kinds of a TorchScript module's graph, calls inlined (``aten::conv3d``...)."""
    return {node.kind() for node in module.inlined_graph.nodes()}


def nonstandard_torchscript_operators(module: torch.jit.ScriptModule) -> List[str]:
    """oneDNN, Python and other non-``aten`` / ``prim`` operators of a TorchScript graph."""
    return sorted(kind for kind in torchscript_operators(module)
                  if kind.split('::')[0] not in ('aten', 'prim') or 'mkldnn' in kind
                  or kind == 'prim::PythonOp')


@contextlib.contextmanager
def _torchscript_tools() -> Iterator[None]:
    """Silence torch's notices that TorchScript and its ONNX exporter are deprecated: they
    are chosen knowingly (module docstring) and would only alarm users at every export."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning,
                                module=r'torch\.(jit|onnx)')
        warnings.filterwarnings('ignore', message='You are using the legacy TorchScript',
                                category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        yield


def _export_onnx(module: nn.Module, example: torch.Tensor, path: str, output_name: str,
                 dynamic_batch: bool, opset: int) -> None:
    dynamic_axes = ({INPUT_NAME: {0: 'batch'}, output_name: {0: 'batch'}}
                    if dynamic_batch else None)
    with _torchscript_tools():
        torch.onnx.export(module, (example, ), path, dynamo=False, input_names=[INPUT_NAME],
                          output_names=[output_name], dynamic_axes=dynamic_axes,
                          opset_version=opset)


def _store_onnx_description(path: str, description: dict) -> None:
    onnx = _deploy_module('onnx')
    model = onnx.load(path)
    onnx.checker.check_model(model)
    onnx.helper.set_model_props(model, {METADATA_KEY: json.dumps(description)})
    model.doc_string = f'exported by r21d_plugin; the {METADATA_KEY} metadata says how to feed it'
    onnx.save(model, path)


# --------------------------------------------------------------------------- running


def exported_runner(path: str, fmt: str,
                    threads: Optional[int] = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function running an exported file on clips: ONNX Runtime (CPU) or TorchScript.

    ``threads``: ONNX Runtime's intra-op threads. Default: torch's thread count, so both
    runtimes use the same cores.
    """
    if fmt == 'onnx':
        onnxruntime = _deploy_module('onnxruntime')
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        session = onnxruntime.InferenceSession(path, options,
                                               providers=['CPUExecutionProvider'])
        return lambda clips: torch.from_numpy(
            session.run(None, {INPUT_NAME: clips.numpy()})[0])
    with _torchscript_tools():
        module = torch.jit.load(path, map_location='cpu').eval()

    def run(clips: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(clips)

    return run


def pytorch_scores(recognizer: nn.Module, clips: torch.Tensor,
                   softmax: bool = False) -> torch.Tensor:
    """Each clip's scores on the recognizer's own test path (its data preprocessor,
    backbone and head as MMAction2 runs them, fast paths on), before clips are averaged."""
    with torch.no_grad():
        data = recognizer.data_preprocessor(
            dict(inputs=list(clips.unsqueeze(1)), data_samples=None), False)
        feats, _ = recognizer.extract_feat(data['inputs'], test_mode=True)
        scores = recognizer.cls_head(feats)
    return scores.softmax(dim=-1) if softmax else scores


def verify_export(result: 'ExportResult',
                  batch_sizes: Optional[Sequence[int]] = None) -> List[dict]:
    """Run the exported file and its PyTorch recognizer on the same random clips.

    Batch sizes: 1 and 2 for a dynamic batch, else the fixed one (two draws).

    Returns:
        list[dict]: per run, ``batch_size``, ``max_abs_diff``, ``scale`` (the largest
        |score| of PyTorch) and ``relative_diff`` (their ratio).
    """
    spec = result.spec
    if batch_sizes is None:
        batch_sizes = (1, 2) if spec.batch_size is None else (spec.batch_size, ) * 2
    softmax = result.description['output']['name'] == 'probs'
    run = exported_runner(result.path, result.format)
    rows = []
    for seed, batch_size in enumerate(batch_sizes):
        clips = random_clips(spec, batch_size, seed=seed)
        expected = pytorch_scores(result.recognizer, clips, softmax)
        got = run(clips)
        if tuple(got.shape) != tuple(expected.shape):
            raise ExportError(f'{result.path} returned shape {tuple(got.shape)} for '
                              f'{batch_size} clips, PyTorch {tuple(expected.shape)}')
        max_abs_diff = float((got - expected).abs().max())
        scale = float(expected.abs().max())
        rows.append(dict(batch_size=batch_size, max_abs_diff=max_abs_diff, scale=scale,
                         relative_diff=max_abs_diff / scale if scale else max_abs_diff))
    return rows


# --------------------------------------------------------------------------- export


def describe_export(cfg: Config, recognizer: nn.Module, spec: InputSpec, fmt: str,
                    opset: Optional[int], softmax: bool, config_name: str,
                    checkpoint: Optional[str]) -> dict:
    """The JSON description of an export: how to feed the file and what it returns."""
    pipeline = config_test_pipeline(cfg)
    sampler = _sampler(pipeline)
    batch = spec.batch_size or 'batch'
    num_classes = recognizer.cls_head.num_classes
    return dict(
        format=fmt,
        exporter=(f'torch.onnx.export (TorchScript-based), opset {opset}' if fmt == 'onnx'
                  else 'torch.jit.trace') + f', torch {torch.__version__}',
        input=dict(
            name=INPUT_NAME, layout='NCTHW', dtype='float32',
            shape=[batch, spec.channels, spec.clip_len, *spec.crop], modality=spec.modality,
            values=('RGB frames, 0..255 (uint8 pixel values as float32)'
                    if spec.modality == 'RGB' else 'Farneback optical flow (dx, dy) in '
                    'pixels, as r21d_plugin.data.flow.FarnebackFlow computes it'),
            normalization=dict(inside_graph=True, mean=spec.mean, std=spec.std)),
        output=dict(name='probs' if softmax else 'logits', shape=[batch, num_classes],
                    kind='softmax probabilities' if softmax else 'logits'),
        clip_len=spec.clip_len, crop=list(spec.crop), num_classes=num_classes,
        label_map=cfg.get('label_map'),
        test=dict(frame_interval=int(sampler.get('frame_interval', 1)),
                  num_clips=int(sampler.get('num_clips', 1)),
                  average_clips=recognizer.cls_head.average_clips,
                  preprocessing=[step for step in pipeline
                                 if _step_type(step) not in LOADING_STEPS])
        if pipeline else None,
        model=dict(config=config_name, checkpoint=checkpoint,
                   checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
                   backbone=type(recognizer.backbone).__name__,
                   depth=recognizer.backbone.depth))


def _check_options(fmt: str, opset: Optional[int], batch_size: Optional[int]) -> None:
    if fmt not in FORMATS:
        raise ExportError(f'unknown format {fmt!r}: choose one of {", ".join(FORMATS)}')
    if fmt == 'torchscript' and opset is not None:
        raise ExportError('--opset applies to --format onnx only')
    if fmt == 'torchscript' and batch_size is not None:
        raise ExportError('a TorchScript module takes any batch size: --batch-size N '
                          'applies to --format onnx only')
    if opset is not None and not OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        raise ExportError(f'--opset {opset} is not supported: choose {OPSET_RANGE[0]} to '
                          f'{OPSET_RANGE[1]}')


def export_recognizer(config: Union[str, Config],
                      checkpoint: Optional[str],
                      out: str,
                      fmt: str = 'onnx',
                      clip_len: Optional[int] = None,
                      crop: Optional[int] = None,
                      batch_size: Optional[int] = None,
                      softmax: bool = False,
                      opset: Optional[int] = None,
                      verify: bool = False,
                      cfg_options: Optional[dict] = None) -> ExportResult:
    """Export a config's recognizer (with a checkpoint's weights) to ONNX or TorchScript.

    Args:
        config (str | Config): the recognizer's config.
        checkpoint (str, optional): its weights; None exports the initial weights.
        out (str): the file to write; its description goes to ``out + '.json'``.
        fmt (str): ``'onnx'`` or ``'torchscript'``. Default: 'onnx'.
        clip_len (int, optional): frames per clip. Default: the config's.
        crop (int, optional): side of the square crop. Default: the config's test crop,
            else 112.
        batch_size (int, optional): a fixed batch size (ONNX only). Default: None
            (dynamic).
        softmax (bool): output probabilities instead of logits. Default: False.
        opset (int, optional): ONNX opset, 11..20. Default: 17 for ONNX.
        verify (bool): run the file against PyTorch on random clips (``verify_export``)
            and record the result in the description. Default: False.
        cfg_options (dict, optional): config overrides, as ``--cfg-options``.

    Returns:
        ExportResult: the files written and, with ``verify``, the comparison.

    Raises:
        ExportError: an unsupported option or config, or a checkpoint that does not fit.
    """
    _check_options(fmt, opset, batch_size)
    if fmt == 'onnx':
        opset = opset or DEFAULT_OPSET
        for needed in ('onnx', 'onnxruntime') if verify else ('onnx', ):
            _deploy_module(needed)
    config_name = _config_name(config)
    cfg = load_config(config, cfg_options)
    recognizer = recognizer_for_export(cfg, checkpoint, config_name)
    spec = input_spec(cfg, recognizer.backbone, clip_len, crop, batch_size, config_name)
    description = describe_export(cfg, recognizer, spec, fmt, opset, softmax, config_name,
                                  checkpoint)
    captured = recognizer
    if fmt == 'onnx':
        # ONNX has no memory formats (the exporter refuses channels-last copies): its
        # graph is captured from the plain NCTHW layout, with the same weights.
        captured = _build(cfg, memory_format='contiguous')
        captured.load_state_dict(recognizer.state_dict())
    module = ClipClassifier(captured.backbone, captured.cls_head, spec.mean, spec.std,
                            softmax).eval()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    example = random_clips(spec, spec.batch_size or 2)
    with fast_paths.plain_paths(), torch.no_grad():
        if fmt == 'onnx':
            _export_onnx(module, example, out, description['output']['name'],
                         spec.batch_size is None, opset)
            private = nonstandard_onnx_operators(out)
        else:
            with _torchscript_tools():
                traced = torch.jit.trace(module, example, check_trace=False)
            private = nonstandard_torchscript_operators(traced)
    if private:
        raise ExportError(f'the exported graph holds non-standard operators {private}: '
                          f'a fast path did not step aside (a bug: please report it)')
    if fmt == 'onnx':
        _store_onnx_description(out, description)
    else:
        with _torchscript_tools():
            torch.jit.save(traced, out,
                           _extra_files={f'{METADATA_KEY}.json': json.dumps(description)})
    result = ExportResult(path=out, sidecar_path=out + '.json', description=description,
                          spec=spec, recognizer=recognizer)
    if verify:
        result.verification = verify_export(result)
        description['verification'] = dict(
            against='the PyTorch recognizer, float32, eval mode',
            runtime=('onnxruntime CPUExecutionProvider' if fmt == 'onnx'
                     else 'torch.jit.load'),
            tolerance=VERIFY_TOLERANCE, passed=result.passed, runs=result.verification)
    with open(result.sidecar_path, 'w') as file:
        json.dump(description, file, indent=2)
    return result


# --------------------------------------------------------------------------- speed


def _bf16_scores(recognizer: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    with torch.autocast('cpu', dtype=torch.bfloat16):
        return pytorch_scores(recognizer, clips)


def runtime_throughput(result: ExportResult, batch_sizes: Sequence[int] = (1, ),
                       warmup: int = 2, iters: int = 5, bf16: bool = True) -> List[dict]:
    """Inference clips/s of PyTorch eager (float32 and bf16 autocast) and of an exported
    file's runtime, on the same clips, in one run.

    PyTorch runs the recognizer the file was exported from as the plugin runs it (fast
    paths on, the config's memory format); the file runs in ONNX Runtime (CPU, as many
    threads as torch) or as TorchScript. The three are timed round-robin
    (``interleaved_timings``), so their ratios hold on a machine shared with other work.

    Args:
        result (ExportResult): what ``export_recognizer`` returned.
        batch_sizes (Sequence[int]): clips per call (a fixed-batch file: its batch only).
        warmup (int): untimed calls of each runtime first. Default: 2.
        iters (int): timed calls of each runtime. Default: 5.
        bf16 (bool): include PyTorch under bf16 autocast. Default: True.

    Returns:
        list[dict]: per batch size and runtime, ``runtime``, ``batch_size``,
        ``clips_per_s`` and ``step_s`` (median seconds per call).
    """
    from ..benchmark.timing import interleaved_timings
    fixed = result.spec.batch_size
    if fixed is not None and set(batch_sizes) != {fixed}:
        raise ExportError(f'{result.path} takes batches of {fixed} clips only, not '
                          f'{sorted(set(batch_sizes) - {fixed})}')
    run_file = exported_runner(result.path, result.format)
    file_runtime = 'onnxruntime' if result.format == 'onnx' else 'torchscript'
    rows = []
    for batch_size in batch_sizes:
        clips = random_clips(result.spec, batch_size)
        steps = {'pytorch float32': lambda: pytorch_scores(result.recognizer, clips)}
        if bf16:
            steps['pytorch bf16 autocast'] = lambda: _bf16_scores(result.recognizer, clips)
        steps[file_runtime] = lambda: run_file(clips)
        timings = interleaved_timings(list(steps.values()), [False] * len(steps),
                                      torch.device('cpu'), warmup, iters)
        for runtime, timing in zip(steps, timings):
            step_s = statistics.median(timing['seconds'])
            rows.append(dict(runtime=runtime, batch_size=batch_size,
                             clips_per_s=batch_size / step_s, step_s=step_s))
    return rows


def format_throughput(rows: List[dict]) -> str:
    """The rows of ``runtime_throughput`` as a table, with each runtime's speed relative
    to PyTorch float32 at the same batch size."""
    base = {row['batch_size']: row['clips_per_s'] for row in rows
            if row['runtime'] == 'pytorch float32'}
    lines = [f'{"runtime":<24}{"batch":>6}{"clips/s":>10}{"s/call":>9}{"vs fp32":>9}']
    lines += [f'{row["runtime"]:<24}{row["batch_size"]:>6}{row["clips_per_s"]:>10.3g}'
              f'{row["step_s"]:>9.3g}{row["clips_per_s"] / base[row["batch_size"]]:>8.2f}x'
              for row in rows]
    return '\n'.join(lines)
