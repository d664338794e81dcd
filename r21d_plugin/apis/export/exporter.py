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
import json
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from ...data.prep.paths import check_not_an_input
from ...engine.checkpoint import atomic_write
from ...models import fast_paths
from ...weights.convert import file_sha256
from ..clip_pipeline import LOADING_STEPS, _step_type, config_test_pipeline
from ..loading import (ConfigLike, build_model, config_name, load_config, load_model,
                       resolve_model)
from .graphs import (RUNTIME_NAMES, _deploy_module, _export_onnx, _store_onnx_description,
                     _torchscript_tools, nonstandard_onnx_operators,
                     nonstandard_torchscript_operators, verify_export)
from . import spec as spec_module
from .spec import (DEFAULT_OPSET, FORMATS, INPUT_NAME, METADATA_KEY, OPSET_RANGE,
                   ClipClassifier, ExportError, ExportResult, InputSpec, check_exportable,
                   input_spec, random_clips, test_sampler)

def describe_export(cfg: Config, recognizer: nn.Module, spec: InputSpec, fmt: str,
                    opset: Optional[int], softmax: bool, config_name: str,
                    checkpoint: Optional[str]) -> dict:
    """The JSON description of an export: how to feed the file and what it returns."""
    pipeline = config_test_pipeline(cfg)
    sampler = test_sampler(pipeline)
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


def export_recognizer(config: ConfigLike,
                      checkpoint: Optional[str],
                      out: str,
                      fmt: str = 'onnx',
                      clip_len: Optional[int] = None,
                      crop: Optional[int] = None,
                      batch_size: Optional[int] = None,
                      softmax: bool = False,
                      opset: Optional[int] = None,
                      verify: bool = False,
                      cfg_options: Optional[dict] = None,
                      device: Union[None, str, torch.device] = None) -> ExportResult:
    """Export a config's recognizer (with a checkpoint's weights) to ONNX or TorchScript.

    Args:
        config (str | Config): the recognizer's config (a name or path, or a Config), or a
            published model's name (``r21d-list-models``).
        checkpoint (str, optional): its weights. None exports a published model's weights,
            or a config's initial weights.
        out (str): the file to write; its description goes to ``out + '.json'``.
        fmt (str): ``'onnx'`` or ``'torchscript'``. Default: 'onnx'.
        clip_len (int, optional): frames per clip. Default: the config's.
        crop (int, optional): side of the square crop. Default: the config's test crop,
            else 112.
        batch_size (int, optional): a fixed batch size (ONNX only). Default: None
            (dynamic).
        softmax (bool): output probabilities instead of logits. Default: False.
        opset (int, optional): ONNX opset, 11..20. Default: 17 for ONNX.
        verify (bool): run the file against PyTorch on random clips (``verify_export``: in
            ONNX Runtime, and in OpenVINO where it is installed) and record the result in the
            description. Default: False.
        cfg_options (dict, optional): config overrides, as ``--cfg-options``.
        device (str | torch.device, optional): where the PyTorch recognizer (the reference
            of the verification, ``result.recognizer``) runs. Default: ``'cuda:0'`` where
            torch sees a GPU, else ``'cpu'``. The graph is captured on the CPU.

    Returns:
        ExportResult: the files written and, with ``verify``, the comparison.

    Raises:
        ExportError: an unsupported option or config.
        CheckpointMismatchError: a checkpoint that does not fit the config.
    """
    _check_options(fmt, opset, batch_size)
    if fmt == 'onnx':
        opset = opset or DEFAULT_OPSET
        for needed in ('onnx', 'onnxruntime') if verify else ('onnx', ):
            _deploy_module(needed)
    name = config_name(config)
    config, checkpoint = resolve_model(config, checkpoint)
    cfg = load_config(config, cfg_options)
    for written in (out, out + '.json'):
        check_not_an_input(written, [checkpoint, cfg.filename], 'the exported file')
    check_exportable(cfg, name)
    # Export and verification compute in float32; bf16 autocast is a PyTorch run setting.
    recognizer = load_model(cfg, checkpoint, device, compute_dtype=None)
    spec = input_spec(cfg, recognizer.backbone, clip_len, crop, batch_size, name)
    description = describe_export(cfg, recognizer, spec, fmt, opset, softmax, name,
                                  checkpoint)
    # The graph is captured from a CPU copy with the same weights; ONNX has no memory
    # formats (the exporter refuses channels-last copies): its copy is in plain NCTHW.
    captured = build_model(cfg, compute_dtype=None,
                           **(dict(memory_format='contiguous') if fmt == 'onnx' else {}))
    captured.load_state_dict(recognizer.state_dict())
    module = ClipClassifier(captured.backbone, captured.cls_head, spec.mean, spec.std,
                            softmax).eval()
    example = random_clips(spec, spec.batch_size or 2)
    result = ExportResult(path=out, sidecar_path=out + '.json', description=description,
                          spec=spec, recognizer=recognizer)

    def write_and_verify(path: str) -> None:
        """The file at ``path`` (a temporary name): a failed capture or verification leaves
        no output behind."""
        with fast_paths.plain_paths(), torch.no_grad():
            if fmt == 'onnx':
                _export_onnx(module, example, path, description['output']['name'],
                             spec.batch_size is None, opset)
                private = nonstandard_onnx_operators(path)
            else:
                with _torchscript_tools():
                    traced = torch.jit.trace(module, example, check_trace=False)
                private = nonstandard_torchscript_operators(traced)
        if private:
            raise ExportError(f'the exported graph holds non-standard operators {private}: '
                              f'a fast path did not step aside (a bug: please report it)')
        if fmt == 'onnx':
            _store_onnx_description(path, description)
        else:
            with _torchscript_tools():
                torch.jit.save(traced, path,
                               _extra_files={f'{METADATA_KEY}.json': json.dumps(description)})
        if verify:
            result.path = path
            result.verification = verify_export(result)
            result.path = out
            description['verification'] = dict(
                against='the PyTorch recognizer, float32, eval mode',
                runtime=', '.join(RUNTIME_NAMES[name] for name in dict.fromkeys(
                    row['runtime'] for row in result.verification)),
                tolerance=spec_module.VERIFY_TOLERANCE, passed=result.passed,
                runs=result.verification)

    atomic_write(out, write_and_verify)
    atomic_write(result.sidecar_path, json.dumps(description, indent=2))
    return result
