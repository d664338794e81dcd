"""The one way the use side loads a network: ``load_config``, ``load_model``, ``load_recognizer``.

``load_config`` takes a config by name (``r2plus1d34_sports1m``, via ``r21d_plugin.configs``)
or by path. ``load_model`` and ``load_recognizer`` also take a published model's name
(``r21d-list-models``): its config, with its published weights unless a checkpoint is given
(``r21d_plugin.zoo``: fetched, verified and converted into the cache on first use).
``load_model`` builds its recognizer and loads a checkpoint into it after
``engine.checkpoint_loading.check_checkpoint_fits`` (a checkpoint for other input channels,
classes or layers is refused, naming both files): inference, feature extraction and export
all load through it. ``load_recognizer`` makes that model ready for videos
(``VideoRecognizer``: MultiClipRecognizer3D, the config's test preprocessing, class names).
"""
import copy
import logging
import os
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from ..configs import resolve_config
from ..engine.checkpoint_loading import load_checked
from ..engine.device import use_device
from ..label_maps import LabelMapError, load_label_map
from ..zoo import local_checkpoint, resolve
from .clip_pipeline import ClipPipeline, _step_type, config_test_pipeline

#: What the loaders take as a config: a name, a path or a loaded ``Config``.
ConfigLike = Union[str, os.PathLike, Config]


class RecognizerLoadError(ValueError):
    """A config that cannot run on videos, or a checkpoint that is not there; the message
    says why. (A checkpoint that does not fit its config raises
    ``engine.checkpoint_loading.CheckpointMismatchError``.)"""


def config_name(config: ConfigLike) -> str:
    """How messages name a config."""
    if isinstance(config, Config):
        return config.filename or 'the config'
    return os.fspath(config)


def load_config(config: ConfigLike, cfg_options: Optional[dict] = None) -> Config:
    """A config by name or path (or a ``Config``, copied), with ``--cfg-options`` overrides.

    Raises:
        ConfigNotFoundError: no such file, and no config of that name.
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = Config.fromfile(resolve_config(os.fspath(config)))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def resolve_model(config: ConfigLike,
                  checkpoint: Optional[str] = None) -> Tuple[ConfigLike, Optional[str]]:
    """``config`` and ``checkpoint`` with a published model's name resolved to its config and
    (without a checkpoint) its cached weights, and ``r21d://NAME`` to a local file
    (``zoo.resolve``); other configs as they are."""
    if isinstance(config, Config):
        return config, local_checkpoint(checkpoint) if checkpoint else checkpoint
    return resolve(os.fspath(config), checkpoint)


def build_model(cfg: Config, **backbone_overrides) -> nn.Module:
    """The recognizer of ``cfg`` without weights, in eval mode. ``backbone_overrides`` change
    backbone arguments that leave the weights as they are (``memory_format``)."""
    from mmaction.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(backbone_overrides)
    model_cfg.backbone.pop('pretrained', None)  # the checkpoint holds the weights
    return MODELS.build(model_cfg).eval()


def load_model(config: ConfigLike, checkpoint: Optional[str] = None,
               device: Union[None, str, torch.device] = None,
               cfg_options: Optional[dict] = None,
               **backbone_overrides) -> nn.Module:
    """A config's recognizer with a checkpoint's weights, in eval mode on ``device``.

    Args:
        config (str | Path | Config): a config name or path, a loaded config, or a published
            model's name.
        checkpoint (str, optional): its checkpoint (MMAction2's, ``r21d-convert-weights``'
            output, or ``r21d://NAME``), loaded strictly after ``check_checkpoint_fits``.
            Default: None (a published model's weights; for a config, the network's initial
            weights, ``init_weights``: for speed measurements and tests).
        device (str | torch.device, optional): where the model runs (``use_device``: on the
            CPU, glibc keeps freed memory from here on). Default: ``'cuda:0'`` where torch
            sees a GPU, else ``'cpu'``.
        cfg_options (dict, optional): overrides merged into the config.
        backbone_overrides: backbone arguments that leave the weights as they are.

    ``model.cfg`` is the config, as MMAction2's ``init_recognizer`` sets it.

    Raises:
        RecognizerLoadError: the checkpoint is not there.
        CheckpointMismatchError: it does not fit the config.
        ZooError: a published model's weights cannot be fetched or verified.
    """
    device = use_device(device)  # a device torch does not see fails before the build
    config, checkpoint = resolve_model(config, checkpoint)
    cfg = load_config(config, cfg_options)
    model = build_model(cfg, **backbone_overrides)
    if checkpoint is None:
        # mmengine logs every parameter's initialisation at INFO: hundreds of lines.
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        if '://' not in checkpoint and not os.path.isfile(checkpoint):
            raise RecognizerLoadError(f'checkpoint {checkpoint}: no such file')
        load_checked(model, checkpoint,
                     f'config {cfg.filename}' if cfg.filename else 'the config')
    model.cfg = cfg
    return model.to(device).eval()


class VideoRecognizer:
    """A recognizer ready for videos: the model in eval mode, its config, the config's test
    preprocessing for decoded clips, and its class names.

    Built by ``load_recognizer``; ``model.cfg`` is set, so MMAction2's own
    ``inference_recognizer(recognizer.model, video)`` works on it too.

    Attributes:
        model (nn.Module): the recognizer (``MultiClipRecognizer3D``).
        cfg (Config): its config.
        test_pipeline (list[dict]): the config's test pipeline.
        pipeline (ClipPipeline): that pipeline for decoded clips.
        labels (list[str] | None): class names, None where there is no label map.
        modality (str): ``'RGB'`` or ``'Flow'`` (flow computed on the fly from RGB frames).
        clip_len (int): frames the network sees per clip (``pipeline.clip_len``).
    """

    def __init__(self, model: torch.nn.Module, cfg: Config, test_pipeline: List[dict],
                 labels: Optional[List[str]], name: str) -> None:
        self.model, self.cfg, self.test_pipeline = model, cfg, test_pipeline
        self.pipeline = ClipPipeline(test_pipeline)
        self.labels, self.name = labels, name
        self.modality = 'Flow' if self.pipeline.computes_flow else 'RGB'
        self.clip_len = self.pipeline.clip_len

    @property
    def num_classes(self) -> int:
        return int(self.model.cls_head.num_classes)

    def label(self, index: int) -> str:
        """The name of class ``index``, or the index itself without a label map."""
        return self.labels[index] if self.labels is not None else str(index)

    def clip_pipeline(self, clip_len: Optional[int] = None) -> ClipPipeline:
        """The test preprocessing for clips of ``clip_len`` network frames (default: the
        config's)."""
        if clip_len is None or clip_len == self.clip_len:
            return self.pipeline
        return ClipPipeline(self.pipeline.with_clip_len(clip_len))


def _test_pipeline(cfg: Config, name: str) -> List[dict]:
    steps = config_test_pipeline(cfg)
    if steps is None:
        raise RecognizerLoadError(f'{name}: the config has no test_pipeline (nor a '
                                  f'test_dataloader) to prepare clips with')
    types = {_step_type(step) for step in steps}
    if types & {'RawFrameDecode', 'DequantizeFlow', 'LoadAlignedFlow'}:
        raise RecognizerLoadError(
            f'{name}: the test pipeline reads stored frames or flow (RawFrameDecode); '
            f'videos need a pipeline that decodes them, with flow computed on the fly '
            f'(FarnebackFlow), e.g. the config without "-rawframes"')
    return steps


def _labels(cfg: Config, label_map: Optional[str], num_classes: int,
            checkpoint: Optional[str]) -> Optional[List[str]]:
    source = label_map if label_map is not None else cfg.get('label_map')
    if source is None:
        return None
    labels = load_label_map(source)
    if len(labels) != num_classes:
        raise LabelMapError(
            f'label map {source} has {len(labels)} classes but '
            f'{"checkpoint " + checkpoint if checkpoint else "the model"} has {num_classes}: '
            f'pass the label map of the dataset the checkpoint was trained on')
    return labels


def load_recognizer(config: ConfigLike,
                    checkpoint: Optional[str] = None,
                    device: Union[None, str, torch.device] = None,
                    label_map: Optional[str] = None,
                    cfg_options: Optional[dict] = None,
                    labels: bool = True) -> VideoRecognizer:
    """Build a config's recognizer, load a checkpoint into it, and find its class names.

    Args:
        config (str | Path | Config): a recognizer config, by name or path (e.g.
            ``configs/pretrained/*.py``), or a published model's name
            (``'r2plus1d_r34_vmz_32x1x10_kinetics400-rgb'``).
        checkpoint (str, optional): its checkpoint (``load_model``). Default: None (a
            published model's weights; for a config, initial weights).
        device (str | torch.device, optional): where the model runs (``load_model``).
            Default: ``'cuda:0'`` where torch sees a GPU, else ``'cpu'``.
        label_map (str, optional): a packaged label map's name (``'kinetics400'``,
            ``'sports1m'``) or a file of class names, one per line. Default: the config's
            top-level ``label_map``; without one, classes are reported as indices.
        cfg_options (dict, optional): overrides merged into the config.
        labels (bool): read class names at all (features and speed measurements need
            none, and a config's label map file may not exist there). Default: True.

    MMAction2's ``Recognizer3D`` is run as ``MultiClipRecognizer3D`` (the same network, with
    per-clip scores) and the head averages softmax scores over clips (the paper's video@1),
    so the scores reported are probabilities.

    Raises:
        RecognizerLoadError: the config cannot run on videos, or the checkpoint is missing.
        CheckpointMismatchError: the checkpoint does not fit the config.
        LabelMapError: the label map is unreadable or its class count is not the model's.
        ZooError: a published model's weights cannot be fetched or verified.
    """
    name = config_name(config)
    config, checkpoint = resolve_model(config, checkpoint)
    cfg = load_config(config, cfg_options)
    if cfg.model.type == 'TwoStreamRecognizer':
        raise RecognizerLoadError(
            f'{name} is a two-stream config: load its RGB and flow streams\' own configs and '
            f'checkpoints and pass the flow one as flow=... (tools/infer.py --flow-config)')
    if cfg.model.type == 'Recognizer3D':
        cfg.model.type = 'MultiClipRecognizer3D'
    cfg.model.cls_head.average_clips = 'prob'
    test_pipeline = _test_pipeline(cfg, name)
    model = load_model(cfg, checkpoint, device)
    class_names = (_labels(cfg, label_map, int(model.cls_head.num_classes), checkpoint)
                   if labels else None)
    recognizer = VideoRecognizer(model, cfg, test_pipeline, class_names, name)
    in_channels = getattr(model.backbone, 'in_channels', 3)
    if (in_channels == 2) != (recognizer.modality == 'Flow'):
        raise RecognizerLoadError(
            f'{name}: its network takes {in_channels}-channel input but its test pipeline '
            f'makes {recognizer.modality} clips')
    return recognizer


__all__ = ['ConfigLike', 'RecognizerLoadError', 'VideoRecognizer', 'build_model',
           'config_name', 'load_config', 'load_model', 'load_recognizer', 'resolve_model']
