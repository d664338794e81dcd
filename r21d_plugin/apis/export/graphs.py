"""Capturing graphs (ONNX, TorchScript), checking their operators, and running the files."""
import contextlib
import importlib
import json
import warnings
from typing import Callable, Iterator, List, Optional, Sequence, Set, Tuple

import torch
import torch.nn as nn

from ..runtimes import (DEPLOY_EXTRA_HINT, RuntimeUnavailableError, installed_runtimes,
                        onnx_runner)
from .spec import INPUT_NAME, METADATA_KEY, ExportError, ExportResult, random_clips

def _deploy_module(name: str):
    """``onnx`` or ``onnxruntime``, or an ExportError saying how to install them."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ExportError(f'{name} is not installed: ONNX export and its verification need '
                          f'the deploy extra, {DEPLOY_EXTRA_HINT}') from error


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


def exported_runner(path: str, fmt: str, runtime: str = 'onnxruntime',
                    threads: Optional[int] = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function running an exported file on clips: an ONNX file in ``runtime``
    (``runtimes.onnx_runner``: ONNX Runtime or OpenVINO, CPU, float32), or TorchScript.

    ``threads``: the runtime's threads. Default: torch's thread count, so both use the same
    cores.
    """
    if fmt == 'onnx':
        try:
            return onnx_runner(path, runtime, threads)
        except RuntimeUnavailableError as error:
            raise ExportError(str(error)) from None
    with _torchscript_tools():
        module = torch.jit.load(path, map_location='cpu').eval()

    def run(clips: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(clips)

    return run


#: How the description names each runtime a file was verified in.
RUNTIME_NAMES = dict(onnxruntime='onnxruntime CPUExecutionProvider',
                     openvino='openvino CPU (float32)', torchscript='torch.jit.load')


def verification_runtimes(fmt: str) -> List[str]:
    """What ``verify_export`` runs a file in: ONNX Runtime and, where it is installed,
    OpenVINO; TorchScript in ``torch.jit``."""
    return installed_runtimes() if fmt == 'onnx' else ['torchscript']


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
    """Run the exported file (in each of ``verification_runtimes``) and its PyTorch
    recognizer on the same random clips.

    Batch sizes: 1 and 2 for a dynamic batch, else the fixed one (two draws). PyTorch runs
    where the recognizer is, in float32 (TF32 off on a GPU: it changes the scores by more
    than the tolerance).

    Returns:
        list[dict]: per runtime and run, ``runtime``, ``batch_size``, ``max_abs_diff``,
        ``scale`` (the largest |score| of PyTorch) and ``relative_diff`` (their ratio).
    """
    spec = result.spec
    if batch_sizes is None:
        batch_sizes = (1, 2) if spec.batch_size is None else (spec.batch_size, ) * 2
    softmax = result.description['output']['name'] == 'probs'
    clips = [random_clips(spec, batch_size, seed=seed)
             for seed, batch_size in enumerate(batch_sizes)]
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        expected = [pytorch_scores(result.recognizer, batch, softmax).cpu() for batch in clips]
    rows = []
    for runtime in verification_runtimes(result.format):
        run = exported_runner(result.path, result.format, runtime)
        for batch, reference in zip(clips, expected):
            got = run(batch)
            if tuple(got.shape) != tuple(reference.shape):
                raise ExportError(f'{result.path} returned shape {tuple(got.shape)} in '
                                  f'{runtime} for {len(batch)} clips, PyTorch '
                                  f'{tuple(reference.shape)}')
            max_abs_diff = float((got - reference).abs().max())
            scale = float(reference.abs().max())
            rows.append(dict(runtime=runtime, batch_size=len(batch), max_abs_diff=max_abs_diff,
                             scale=scale,
                             relative_diff=max_abs_diff / scale if scale else max_abs_diff))
    return rows
