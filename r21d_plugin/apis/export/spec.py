"""What an exported file is: its input (``InputSpec``), the module captured (``ClipClassifier``),
what ``export_recognizer`` returns (``ExportResult``), and which configs can be exported."""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from ...data.pipelines import network_clip_len
from ...models import CollapsingConv3d, SpatioTemporalResNet
from ..clip_pipeline import _step_type, config_test_pipeline

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
        verification (list[dict], optional): per runtime and run, ``runtime``,
            ``batch_size``, ``max_abs_diff``, ``scale`` (the largest |score| of PyTorch) and
            ``relative_diff``; None if not verified.
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


def check_exportable(cfg: Config, name: str) -> None:
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


def test_sampler(pipeline: Optional[List[dict]]) -> dict:
    samplers = [step for step in pipeline or [] if _step_type(step) == 'SampleFrames']
    return samplers[0] if len(samplers) == 1 else {}


def _pipeline_clip_len(pipeline: Optional[List[dict]]) -> Optional[int]:
    """Frames per clip the network sees in a test pipeline, if it samples frames."""
    return network_clip_len(pipeline) if 'clip_len' in test_sampler(pipeline) else None


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
