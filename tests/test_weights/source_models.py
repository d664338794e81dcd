"""Helpers of the weight tests: source models, built from the real source code (torchvision's
video ResNets, patched as ig65m-pytorch does), with random weights and BN statistics."""
import inspect
import io
import os
import pickle
import struct
from functools import lru_cache
from typing import Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torchvision.models.video import mc3_18, r2plus1d_18, r3d_18
from torchvision.models.video.resnet import (BasicBlock, Conv2Plus1D, R2Plus1dStem,
                                             VideoResNet)

import r21d_plugin  # noqa: F401  registers the plugin
from r21d_plugin.models import SpatioTemporalResNet

init_default_scope('mmaction')

CONFIG_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'configs', 'pretrained')
TORCHVISION_MODELS = {'r3d_18': r3d_18, 'mc3_18': mc3_18, 'r2plus1d_18': r2plus1d_18}

#: The backbone's plain path: contiguous activations and separate BN layers, the same
#: arithmetic as the source models. The fast defaults (channels-last activations, BN folded
#: into convs) agree with it only to float rounding, which a random 34-layer net amplifies
#: to ~3e-4 on the logits; these tests check the conversion, so they compare plain paths.
PLAIN_PATH = {name: value for name, value in (('memory_format', 'contiguous'),
                                              ('fold_bn', False))
              if name in inspect.signature(SpatioTemporalResNet.__init__).parameters}


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN affine parameters and running statistics, and an O(1) fc; returns the
    model in eval mode.

    The statistics are measured on random clips and then perturbed, so activations stay
    O(1) through 34 layers (a 1e-4 comparison means something) while a wrong BN mapping
    or eps still changes the outputs.
    """
    generator = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=generator) * (high - low) + low

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.copy_(uniform(norm.weight.shape, 0.5, 1.5))
            norm.bias.copy_(uniform(norm.bias.shape, -0.2, 0.2))
            norm.reset_running_stats()
            norm.momentum = None  # running statistics = this batch's statistics
        for linear in (m for m in model.modules() if isinstance(m, nn.Linear)):
            linear.weight.copy_(uniform(linear.weight.shape, -0.05, 0.05))
            linear.bias.copy_(uniform(linear.bias.shape, -1, 1))
        in_channels = next(m for m in model.modules() if isinstance(m, nn.Conv3d)).in_channels
        model.train()(torch.randn(2, in_channels, 8, 32, 32, generator=generator))
        for norm in norms:
            norm.momentum = 0.1
            norm.running_mean.add_(uniform(norm.running_mean.shape, -0.1, 0.1)
                                   * norm.running_var.sqrt())
            norm.running_var.mul_(uniform(norm.running_var.shape, 0.8, 1.25))
            norm.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1, ),
                                                             generator=generator)))
    return model.eval()


@lru_cache(maxsize=None)
def torchvision_model(arch: str, num_classes: int = 400, seed: int = 0) -> nn.Module:
    """torchvision's model, randomized; cached, so callers must not modify it."""
    return randomize(TORCHVISION_MODELS[arch](num_classes=num_classes), seed)


def ig65m_r2plus1d_34(num_classes: int, seed: int = 0) -> nn.Module:
    """ig65m-pytorch's ``r2plus1d_34``: torchvision's VideoResNet with the second conv of
    each stage's first block patched to VMZ's per-conv mid channels, and BN eps 1e-3."""
    model = VideoResNet(block=BasicBlock, conv_makers=[Conv2Plus1D] * 4,
                        layers=[3, 4, 6, 3], stem=R2Plus1dStem)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    model.layer2[0].conv2[0] = Conv2Plus1D(128, 128, 288)
    model.layer3[0].conv2[0] = Conv2Plus1D(256, 256, 576)
    model.layer4[0].conv2[0] = Conv2Plus1D(512, 512, 1152)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.eps = 1e-3
    return randomize(model, seed)


def pretrained_config(config: str) -> Config:
    return Config.fromfile(os.path.join(CONFIG_DIR, config))


def config_model(config: str, options: Optional[dict] = None) -> nn.Module:
    """The Recognizer3D of a ``configs/pretrained`` config on its plain path, in eval mode;
    ``options`` are ``--cfg-options`` style overrides (``{'model.cls_head.num_classes': 5}``)."""
    cfg = pretrained_config(config)
    cfg.merge_from_dict({f'model.backbone.{k}': v for k, v in PLAIN_PATH.items()})
    cfg.merge_from_dict(options or {})
    return MODELS.build(cfg.model).eval()


def logits(model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """Class scores before softmax: a source model's output, or a Recognizer3D's
    backbone + I3DHead."""
    with torch.no_grad():
        if hasattr(model, 'cls_head'):
            return model.cls_head(model.backbone(clip))
        return model(clip)


class Python2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle (protocol 2) writes for VMZ's blob dicts: ``str``
    opcodes for raw bytes and ``numpy.core`` module paths."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def write_python2_pickle(obj: object, path: str) -> None:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    data = buffer.getvalue().replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
    with open(path, 'wb') as file:
        file.write(data)
