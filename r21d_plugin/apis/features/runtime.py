"""Feature extraction in an ONNX runtime (``--runtime onnxruntime|openvino``), verified
against PyTorch at start-up.

Where a CPU runtime runs the network faster than PyTorch (OpenVINO on CPUs, see
docs/performance.md), each stream's network up to the chosen layer is exported once to
ONNX (``FeatureGraph``: the config's normalisation, the backbone up to the layer's stage, the
average over time and space unless ``keep_map``; batch, height and width dynamic) and every
batch of windows runs in the runtime; decoding and preprocessing stay as they are.

**Where the graph goes.** By default ``OUT/.runtime/<stream>-<layer>-<key>.onnx``, inside the
output folder: a rerun, a resumed run and every rank of a distributed run reuse it, and a run
with other weights or settings exports its own (``<key>``: a digest of the config's model,
the weights, the layer, the clip length, torch's version and the opset). ``onnx=FILE`` names
the file instead (one stream): made there if absent, reused if it holds the same key,
refused otherwise. Files are written whole or not at all (``atomic_write``).

**Verification.** Before any video, ``VERIFY_CLIPS`` random clips of the size the test
pipeline makes go through PyTorch and the runtime; the largest difference, relative to the
largest PyTorch feature, must be within ``FEATURE_TOLERANCE`` (the export's own tolerance),
else the run is refused (``RuntimeMismatchError``) naming the runtime and the figures.
"""
import hashlib
import io
import json
import os.path as osp
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

from ...engine.checkpoint import atomic_write
from ...models import fast_paths
from ..export import DEFAULT_OPSET, METADATA_KEY, input_spec
from ..export.graphs import _deploy_module, _torchscript_tools, nonstandard_onnx_operators
from ..loading import build_model
from ..runtimes import onnx_runner

#: Largest |runtime - PyTorch| feature difference, relative to the largest |feature|.
FEATURE_TOLERANCE = 1e-4
#: Random clips each stream is verified on at start-up.
VERIFY_CLIPS = 2
#: The folder of OUT the graphs are kept in.
CACHE_FOLDER = '.runtime'
INPUT_NAME, OUTPUT_NAME = 'clips', 'features'


class RuntimeMismatchError(ValueError):
    """A runtime whose features differ from PyTorch's, or a graph made for other settings;
    the message says which and by how much."""


class FeatureGraph(nn.Module):
    """``(clips - mean) / std``, the backbone up to ``stage``, then the average over time and
    space (unless ``keep_map``): what ``FeatureExtractor`` computes in PyTorch for one
    stream, as one exportable module on ``N x C x T x H x W`` float32 clips (0..255 RGB or
    flow in pixels)."""

    def __init__(self, backbone: nn.Module, stage: int, keep_map: bool, mean, std) -> None:
        super().__init__()
        self.backbone, self.keep_map = backbone, keep_map
        self.backbone.out_indices = (stage, )
        self.register_buffer('mean', torch.tensor(mean).float().view(1, -1, 1, 1, 1))
        self.register_buffer('std', torch.tensor(std).float().view(1, -1, 1, 1, 1))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        out = self.backbone((clips - self.mean) / self.std)
        return out if self.keep_map else out.mean(dim=(2, 3, 4))


def graph_key(model: nn.Module, stage: int, keep_map: bool, clip_len: int) -> str:
    """What a stream's graph depends on, as a hex digest: the config's model, the weights,
    the layer, the clip length, torch's version, the opset."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(
        model=model.cfg.model, stage=stage, keep_map=keep_map, clip_len=clip_len,
        torch=torch.__version__, opset=DEFAULT_OPSET), sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _stored_key(path: str) -> Optional[str]:
    model = _deploy_module('onnx').load(path, load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value).get('feature_graph_key')
    return None


def export_feature_graph(model: nn.Module, stage: int, keep_map: bool, example: torch.Tensor,
                         path: str, key: str) -> None:
    """Export one stream's ``FeatureGraph`` to ``path`` (ONNX, the default opset, standard
    operators only), its key in the file's metadata."""
    onnx = _deploy_module('onnx')
    # ONNX has no memory formats: the graph is captured from the plain NCTHW layout.
    captured = build_model(model.cfg, compute_dtype=None, memory_format='contiguous')
    captured.load_state_dict(model.state_dict())
    # the config's normalisation, as the export puts it in a graph
    spec = input_spec(model.cfg, model.backbone, clip_len=int(example.shape[2]))
    graph = FeatureGraph(captured.backbone.cpu(), stage, keep_map, spec.mean, spec.std).eval()
    axes = {0: 'batch', 3: 'height', 4: 'width'}
    buffer = io.BytesIO()
    with fast_paths.plain_paths(), torch.no_grad(), _torchscript_tools():
        torch.onnx.export(graph, (example.cpu().float(), ), buffer, dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: {0: 'batch'}},
                          opset_version=DEFAULT_OPSET)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto)
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(dict(
        feature_graph_key=key, stage=stage, keep_map=keep_map,
        input=dict(name=INPUT_NAME, layout='NCTHW', dtype='float32',
                   values='as the test pipeline makes them (normalised inside the graph)')))})
    atomic_write(path, proto.SerializeToString())
    private = nonstandard_onnx_operators(path)
    if private:
        raise RuntimeMismatchError(f'the exported feature graph holds non-standard operators '
                                   f'{private}: a fast path did not step aside (a bug)')


def feature_runner(model: nn.Module, stage: int, keep_map: bool, example: torch.Tensor,
                   runtime: str, path: str, key: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``runtime``'s function from a stream's prepared clips to its features, the graph at
    ``path`` exported first unless it holds ``key`` (``graph_key``; then reused).

    Raises:
        RuntimeMismatchError: ``path`` holds a graph made for other weights or settings.
    """
    if not osp.exists(path):
        export_feature_graph(model, stage, keep_map, example, path, key)
    elif _stored_key(path) != key:
        raise RuntimeMismatchError(
            f'{path} holds a feature graph made for other weights or settings (layer, clip '
            f'length, config, torch); give another --onnx file, or remove it to export anew')
    return onnx_runner(path, runtime)


def verify_features(runtime: str, reference: Dict[str, torch.Tensor],
                    got: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """Each stream's largest difference relative to its largest PyTorch feature.

    Raises:
        RuntimeMismatchError: a stream above ``FEATURE_TOLERANCE``.
    """
    differences = {}
    for name, expected in reference.items():
        scale = float(expected.abs().max()) or 1.0
        differences[name] = float((got[name] - expected).abs().max()) / scale
        if not differences[name] <= FEATURE_TOLERANCE:
            raise RuntimeMismatchError(
                f'{runtime} gives {name} features that differ from PyTorch\'s by '
                f'{differences[name]:.2e} of their scale ({scale:.3g}) on random clips, above '
                f'the tolerance {FEATURE_TOLERANCE:.0e}: extract with --runtime pytorch')
    return differences
