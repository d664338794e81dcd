"""Convert a published checkpoint into an MMAction2 checkpoint of this plugin, exactly.

The architecture is read from the tensors themselves (conv kinds from kernel shapes, depth
from which blocks exist, mid channels, input channels, classes); ``arch`` names the expected
one and is then checked. Every source tensor must be used, every parameter and buffer of
our ``Recognizer3D`` (backbone and ``I3DHead``) is set, and every shape must match;
otherwise ``ConversionError`` names the offending keys.
"""
import hashlib
import os
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import torch

from ..data.prep.paths import check_not_an_input
from ..engine.checkpoint import atomic_write
from ..models import STAGE_BLOCKS, factorized_mid_channels
from .caffe2_source import Caffe2Source
from .layout import (PARAM_NAMES, ConversionError, NetworkSpec, Position, arch_group_convs,
                     arch_name, parse_arch)
from .source import CheckpointSource
from .torchvision_source import TorchvisionSource, VMZPyTorchSource

#: The ``--source`` choices.
SOURCES: Dict[str, CheckpointSource] = {
    source.name: source
    for source in (TorchvisionSource(), VMZPyTorchSource(), Caffe2Source())
}

#: (source key or None where the source does not store the tensor, our key).
KeyPairs = List[Tuple[Optional[str], str]]


def get_source(name: str) -> CheckpointSource:
    if name not in SOURCES:
        raise ConversionError(f'unknown source {name!r}; choose one of {sorted(SOURCES)}')
    return SOURCES[name]


def _format_keys(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys)
    shown = ', '.join(repr(key) for key in keys[:limit])
    return shown + (f' and {len(keys) - limit} more' if len(keys) > limit else '')


def _first_conv(depth: int, group: int) -> Position:
    """The first conv of a group (1 = conv1, 2..5 = conv2_x..conv5_x)."""
    if group == 1:
        return Position('stem', '')
    stage = group - 1
    return Position('block', '', stage, 0, 1, sum(STAGE_BLOCKS[depth][:stage - 1]))


def _conv_weight(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                 position: Position, spec: NetworkSpec) -> Optional[torch.Tensor]:
    key = source.param_key(source.module_name(position, spec), 'conv', 'weight')
    weight = tensors.get(key)
    return weight if weight is not None and weight.dim() == 5 else None


def _probe_kind(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                stub: NetworkSpec, group: int) -> Optional[str]:
    """The conv kind of a group as its first conv's tensors show it, or None."""
    position = _first_conv(stub.depth, group)
    if all(_conv_weight(tensors, source, position._replace(piece=piece), stub) is not None
           for piece in ('spatial', 'temporal')):
        return '2plus1d'
    conv = _conv_weight(tensors, source, position._replace(piece='conv'), stub)
    if conv is None:
        return None
    temporal_kernel = conv.shape[2]
    if temporal_kernel in (1, 3):
        return {1: '2d', 3: '3d'}[temporal_kernel]
    # Only R2D's conv1 spans more frames (the whole clip).
    return 'r2d' if group == 1 else None


def _complete_spec(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                   depth: int, group_convs: Tuple[str, ...], num_classes: int) -> NetworkSpec:
    """The spec of ``group_convs`` at ``depth``, with the sizes the tensors show.

    Where a tensor is missing the source's defaults stand; the key check reports it.
    """
    spec = NetworkSpec(depth, tuple(group_convs), 3, num_classes, 45,
                       source.mid_channels_rule, source.norm_eps)
    stem = _first_conv(depth, 1)
    stem_2plus1d = group_convs[0] == '2plus1d'
    first = _conv_weight(tensors, source,
                         stem._replace(piece='spatial' if stem_2plus1d else 'conv'), spec)
    in_channels = int(first.shape[1]) if first is not None else 3
    stem_mid = int(first.shape[0]) if first is not None and stem_2plus1d else 45
    clip_len = None
    if group_convs[0] == 'r2d':
        clip_len = int(first.shape[2]) if first is not None else 8
    rule = source.mid_channels_rule
    # The rules differ only in conv2 of a stage's first block, from conv3_x on.
    for group in range(3, 6):
        if group_convs[group - 1] != '2plus1d':
            continue
        position = _first_conv(depth, group)._replace(piece='spatial', conv=2)
        weight = _conv_weight(tensors, source, position, spec)
        if weight is None:
            continue
        out_channels = 64 * 2**(group - 2)
        mids = {factorized_mid_channels(out_channels, out_channels): 'per_conv',
                factorized_mid_channels(out_channels // 2, out_channels): 'per_block'}
        rule = mids.get(int(weight.shape[0]), rule)
        break
    return NetworkSpec(depth, tuple(group_convs), in_channels, num_classes, stem_mid, rule,
                       source.norm_eps, clip_len)


def _mapping(spec: NetworkSpec, source: CheckpointSource) -> KeyPairs:
    pairs = []
    for slot in spec.slots():
        module = source.module_name(slot.position, spec)
        for param in PARAM_NAMES[slot.kind]:
            pairs.append((source.param_key(module, slot.kind, param),
                          f'{slot.target}.{param}'))
    return pairs


def _key_diff(mapping: KeyPairs, tensors: Mapping[str, torch.Tensor]) -> Tuple[set, set]:
    expected = {source_key for source_key, _ in mapping if source_key is not None}
    return expected - set(tensors), set(tensors) - expected


def _infer_spec(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                num_classes: int, name: str) -> NetworkSpec:
    """The one depth and conv-kind assignment whose keys are exactly the source's."""
    closest = None
    for depth in STAGE_BLOCKS:
        stub = NetworkSpec(depth, ('2plus1d', ) * 5, 3, num_classes, 45,
                           source.mid_channels_rule, source.norm_eps)
        kinds = tuple(_probe_kind(tensors, source, stub, group) for group in range(1, 6))
        if None in kinds:
            continue
        spec = _complete_spec(tensors, source, depth, kinds, num_classes)
        missing, unused = _key_diff(_mapping(spec, source), tensors)
        if not missing and not unused:
            return spec
        if closest is None or len(missing) + len(unused) < len(closest[1]) + len(closest[2]):
            closest = (spec, missing, unused)
    if closest is None:
        stub = NetworkSpec(18, ('3d', ) * 5, 3, num_classes, 45, source.mid_channels_rule,
                           source.norm_eps)
        stem = source.module_name(_first_conv(18, 1)._replace(piece='conv'), stub)
        raise ConversionError(
            f'{name}: no {source.name} network found: the stem and the first conv of every '
            f'stage are needed to read the architecture (e.g. '
            f"{source.param_key(stem, 'conv', 'weight')!r})")
    spec, missing, unused = closest
    raise _key_error(name, source, spec, missing, unused)


def _key_error(name: str, source: CheckpointSource, spec: NetworkSpec, missing: set,
               unused: set, hint: str = '') -> ConversionError:
    arch = arch_name(spec.depth, spec.group_convs) or f'group_convs={spec.group_convs}'
    lines = [f'{name} does not match {arch} in the {source.name} naming{hint}:']
    if missing:
        lines.append(f'  missing source keys ({len(missing)}): {_format_keys(missing)}')
    if unused:
        lines.append(f'  unused source keys ({len(unused)}): {_format_keys(unused)}')
    return ConversionError('\n'.join(lines))


def _looks_like(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                num_classes: int, name: str) -> str:
    """', which looks like <arch>' when the tensors match a named architecture."""
    try:
        spec = _infer_spec(tensors, source, num_classes, name)
    except ConversionError:
        return ''
    inferred = arch_name(spec.depth, spec.group_convs)
    return f' ({name} looks like {inferred})' if inferred else ''


def _check_mid_channels_rule(spec: NetworkSpec, source: CheckpointSource, name: str) -> None:
    if spec.mid_channels_rule == source.mid_channels_rule:
        return
    fitting = [other.name for other in SOURCES.values()
               if other.mid_channels_rule == spec.mid_channels_rule
               and type(other).module_name is type(source).module_name]
    layouts = {'per_block': "per-block (2+1)D mid channels (torchvision's r2plus1d_18)",
               'per_conv': "per-conv (2+1)D mid channels (VMZ's, as ig65m-pytorch patches)"}
    raise ConversionError(
        f'{name} has {layouts[spec.mid_channels_rule]}, but --source {source.name} models '
        f'use {layouts[source.mid_channels_rule]} and BN eps {source.norm_eps:g}'
        + (f'; use --source {" or ".join(fitting)}' if fitting else ''))


def _resolve_spec(tensors: Mapping[str, torch.Tensor], source: CheckpointSource,
                  arch: Optional[str], name: str) -> NetworkSpec:
    """The architecture the tensors hold, checked against ``arch`` when it is given."""
    if arch is not None:
        depth = parse_arch(arch)[1]
        if source.archs is not None and arch not in source.archs:
            raise ConversionError(f'{source.name} publishes {list(source.archs)}, '
                                  f'not {arch!r}')
    num_classes = source.num_classes(tensors)
    if num_classes is None:
        raise ConversionError(f'{name}: no classifier (fc) weights found, so this is not a '
                              f'whole {source.name} model')
    if arch is None:
        spec = _infer_spec(tensors, source, num_classes, name)
    else:
        spec = _complete_spec(tensors, source, depth, arch_group_convs(arch), num_classes)
        missing, unused = _key_diff(_mapping(spec, source), tensors)
        if missing or unused:
            raise _key_error(name, source, spec, missing, unused,
                             _looks_like(tensors, source, num_classes, name))
    _check_mid_channels_rule(spec, source, name)
    return spec


def _misfits(mapping: KeyPairs, tensors: Mapping[str, torch.Tensor],
             target: Dict[str, torch.Tensor], spec: NetworkSpec) -> List[str]:
    """Checks that every target is set exactly once; returns the source tensors that do
    not fit their target (shape, or float vs integer)."""
    mapped = {target_key for _, target_key in mapping}
    if mapped != set(target):
        # The slot table and the builder disagree: a bug here, not in the checkpoint.
        raise ConversionError(
            f'internal layout mismatch for {spec}: unset targets '
            f'{_format_keys(set(target) - mapped)}; unknown targets '
            f'{_format_keys(mapped - set(target))}')
    wrong = []
    for source_key, target_key in mapping:
        if source_key is None:
            continue
        tensor, template = tensors[source_key], target[target_key]
        if tensor.shape != template.shape:
            wrong.append(f'{source_key} {tuple(tensor.shape)} -> {target_key} '
                         f'{tuple(template.shape)}')
        elif tensor.is_floating_point() != template.is_floating_point():
            wrong.append(f'{source_key} is {tensor.dtype} but {target_key} is '
                         f'{template.dtype}')
    return wrong


def convert_state_dict(tensors: Mapping[str, torch.Tensor], source: str,
                       arch: Optional[str] = None,
                       name: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map a source state dict onto our ``Recognizer3D`` (backbone and ``I3DHead``).

    Args:
        tensors: the source's name -> tensor dict (as ``CheckpointSource.read`` gives it).
        source: a key of ``SOURCES``: ``'torchvision'``, ``'vmz-pt'`` or ``'caffe2'``.
        arch: the expected architecture (``'r2plus1d_34'``, ``'mc3_18'``, ...); None reads
            it from the tensors.
        name: how errors refer to the checkpoint (its path).

    Returns:
        (state_dict, meta): ``backbone.*`` and ``cls_head.fc_cls.*`` tensors, and a dict
        with the source, arch, number of classes, the backbone config the weights need,
        and the target keys the source does not store (filled with zeros).

    Raises:
        ConversionError: naming the missing, unused or mis-shaped keys.
    """
    source_ = get_source(source)
    spec = _resolve_spec(tensors, source_, arch, name)
    mapping = _mapping(spec, source_)
    target = spec.build_target()
    wrong = _misfits(mapping, tensors, target, spec)
    if wrong:
        hint = _looks_like(tensors, source_, spec.num_classes, name) if arch else ''
        shown = '\n  '.join(wrong[:12]) + (f'\n  and {len(wrong) - 12} more'
                                          if len(wrong) > 12 else '')
        raise ConversionError(f'{name}: {len(wrong)} tensor(s) do not fit '
                              f'{arch_name(spec.depth, spec.group_convs) or spec}{hint}:'
                              f'\n  {shown}')

    by_target = {target_key: source_key for source_key, target_key in mapping}
    state = OrderedDict()
    for target_key, template in target.items():
        source_key = by_target[target_key]
        if source_key is None:
            state[target_key] = torch.zeros(template.shape, dtype=template.dtype)
        else:
            state[target_key] = tensors[source_key].to(template.dtype).contiguous()
    meta = dict(source=source_.name, arch=arch_name(spec.depth, spec.group_convs),
                num_classes=spec.num_classes, backbone=spec.backbone_config(),
                not_in_source=sorted(key for key, source_key in by_target.items()
                                     if source_key is None))
    return state, meta


def file_sha256(path: str) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (checkpoints are large)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def convert_checkpoint(src: str, dst: str, source: str, arch: Optional[str] = None) -> dict:
    """Convert the checkpoint file ``src`` and save it as an MMAction2 checkpoint ``dst``.

    ``src`` is read safely: ``.pth`` with ``torch.load(weights_only=True)``, Caffe2 ``.pkl``
    through a restricted unpickler. ``dst`` is written atomically (complete or not at all). ``dst`` holds ``{'state_dict': ..., 'meta': ...}`` and
    loads with ``load_from`` or ``init_cfg=dict(type='Pretrained', checkpoint=dst)``.

    Returns:
        dict: the ``meta`` written into ``dst`` (see ``convert_state_dict``), plus the
        source file's name and SHA-256.
    """
    import r21d_plugin

    check_not_an_input(dst, [src], 'the converted checkpoint')
    source_ = get_source(source)
    state, meta = convert_state_dict(source_.read(src), source, arch, name=src)
    meta.update(source_file=os.path.basename(src), source_sha256=file_sha256(src),
                converter=f'r21d_plugin {r21d_plugin.__version__}')
    atomic_write(dst, lambda temporary: torch.save(dict(state_dict=state, meta=meta), temporary))
    return meta


def describe(meta: dict, dst: str) -> str:
    """A short human summary of a conversion."""
    backbone = meta['backbone']
    lines = [
        f"{meta['source_file']} ({meta['source']}, {meta['arch'] or 'unnamed mix'}) -> {dst}",
        f"  classes {meta['num_classes']}, input channels {backbone['in_channels']}, "
        f"BN eps {backbone['norm_cfg']['eps']:g}, mid channels {backbone['mid_channels_rule']}",
        f"  backbone: {backbone}",
    ]
    if meta['not_in_source']:
        lines.append(f"  {len(meta['not_in_source'])} buffers the source does not store were "
                     f'zeroed (BN num_batches_tracked)')
    return '\n'.join(lines)
