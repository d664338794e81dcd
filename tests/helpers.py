"""Helpers shared by the tests, in one module.

* Media: real encoded videos made on the spot, and the ways they break (robustness tests).
* Source models: torchvision's video ResNets (patched as ig65m-pytorch does), with random
  weights and BN statistics, as the publishers' checkpoints the converters are tested on.
* Configs: the demo config shrunk to tiny sizes (``shrink_demo_config``); a paper network
  at width 4 in the project's recognizer, and a random checkpoint for it (export tests).
* Tools: run a real tool as a subprocess (``run_tool``); the text of its common messages.
* The zoo's publishers: a loopback HTTP server (``WeightsServer``) and a metafile whose
  models it serves (``zoo_metafile``).
"""
import hashlib
import inspect
import io
import os
import os.path as osp
import pickle
import re
import socket
import struct
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Union

import cv2
import numpy as np
import torch
import torch.nn as nn
import yaml
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401  registers the plugin (and lets torchvision import: compat)
from r21d_plugin.models import SpatioTemporalResNet
from torchvision.models.video import mc3_18, r2plus1d_18, r3d_18  # noqa: I100
from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, R2Plus1dStem, VideoResNet

init_default_scope('mmaction')

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIGS = {
    'R(2+1)D': REPO / 'configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
    'f-R2D': REPO / 'configs/demo/fr2d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
    # the demo R(2+1)D's flow stream (flow computed on the fly)
    'R(2+1)D-flow': REPO / 'configs/two_stream/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-flow.py',
}

#: OpenMMLab's config names, ``{network}_{backbone}_{gpus}x{batch}-{clip}[-{schedule}]_{data}``
#: (docs/configs.md); a test-only config has no schedule.
CONFIG_NAME = re.compile(
    r'(?P<network>[a-z0-9]+)_(?P<backbone>[a-z0-9-]+)_(?P<gpus>\d+)xb(?P<batch>\d+)'
    r'-(?P<clip>\d+x\d+x\d+)(?:-(?P<epochs>\d+)e)?_(?P<data>[a-z0-9-]+)\.py')

# ----------------------------------------------------------------------------- media

SIZE = 32  # decord mis-decodes widths under 32


def write_video(path: Path, num_frames: int, fourcc: str = 'mp4v', seed: int = 0) -> Path:
    """An OpenCV-encoded video of random frames (mp4v in .mp4, MJPG in .avi)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (SIZE, SIZE))
    assert writer.isOpened(), path
    rng = np.random.default_rng(seed)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
    writer.release()
    return path


def write_h264_video(path: Path, num_frames: int, size=(64, 48), gop: int = 8,
                     fps: int = 10, seed: int = 0) -> Path:
    """An H.264 mp4 (PyAV's libx264) of smooth random frames, with B-frames (decode order
    differs from presentation order) and a keyframe every ``gop`` frames (seeks land on
    them)."""
    import av

    width, height = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 4, width // 4, 3), dtype=np.uint8)
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.options = {'g': str(gop), 'keyint_min': str(gop), 'bf': '2', 'crf': '20'}
        for index in range(num_frames):
            frame = cv2.resize(np.roll(base, index, axis=1), (width, height))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _boxes(data: bytes, start: int, end: int):
    while start < end:
        size, kind = struct.unpack('>I4s', data[start:start + 8])
        yield kind.decode('latin1'), start, size
        start += size


def move_moov_first(data: bytes) -> bytes:
    """An mp4 with its index (moov) before the media data, as streaming files have it.

    OpenCV writes moov last, so truncating its files loses the whole index; a "fast start"
    file truncated mid-stream opens and fails only while decoding.
    """
    top = {kind: (start, size) for kind, start, size in _boxes(data, 0, len(data))}
    moov_at, moov_size = top['moov']
    moov = bytearray(data[moov_at:moov_at + moov_size])

    def shift_chunk_offsets(start, end):
        for kind, at, size in _boxes(moov, start, end):
            if kind in ('trak', 'mdia', 'minf', 'stbl'):
                shift_chunk_offsets(at + 8, at + size)
            elif kind == 'stco':
                count = struct.unpack('>I', moov[at + 12:at + 16])[0]
                for entry in range(at + 16, at + 16 + 4 * count, 4):
                    offset = struct.unpack('>I', moov[entry:entry + 4])[0]
                    moov[entry:entry + 4] = struct.pack('>I', offset + moov_size)

    shift_chunk_offsets(8, moov_size)
    mdat_at = top['mdat'][0]
    return data[:mdat_at] + bytes(moov) + data[mdat_at:moov_at] + data[moov_at + moov_size:]


_CONTAINER_BOXES = ('moov', 'trak', 'mdia', 'minf', 'stbl')


def _rewrite_boxes(data: bytes, start: int, end: int, edit) -> bytes:
    out = b''
    for kind, at, size in _boxes(data, start, end):
        if kind in _CONTAINER_BOXES:
            body = _rewrite_boxes(data, at + 8, at + size, edit)
            out += struct.pack('>I4s', 8 + len(body), kind.encode('latin1')) + body
        else:
            out += edit(kind, data[at:at + size])
    return out


def edit_mp4_boxes(data: bytes, edit) -> bytes:
    """An OpenCV mp4 with each leaf box of its index replaced by ``edit(kind, box)``.

    OpenCV writes the index (moov) after the media data, so a box that changes size moves
    no chunk offset; the sizes of the boxes around it are recomputed.
    """
    return _rewrite_boxes(data, 0, len(data), edit)


def rotated_mp4(data: bytes, degrees: int = 90) -> bytes:
    """The video track's display matrix set to a rotation, as phones record portrait video."""
    one, minus_one, w = 0x10000, 0xFFFF0000, 0x40000000
    matrix = {90: (0, one, 0, minus_one, 0, 0, 0, 0, w),
              180: (minus_one, 0, 0, 0, minus_one, 0, 0, 0, w),
              270: (0, minus_one, 0, one, 0, 0, 0, 0, w)}[degrees]

    def edit(kind, box):
        if kind != 'tkhd':
            return box
        assert box[8] == 0, 'tkhd version 0 expected'
        return box[:48] + struct.pack('>9I', *matrix) + box[84:]

    return edit_mp4_boxes(data, edit)


def variable_rate_mp4(data: bytes) -> bytes:
    """The frames' durations made uneven (first half twice as fast as the second half),
    keeping the total duration: a variable frame rate video."""

    def edit(kind, box):
        if kind != 'stts':
            return box
        (count, delta), = [struct.unpack('>II', box[16:24])]
        first = count // 2
        entries = [(first, delta * 2 // 3), (count - first, None)]
        rest = (count * delta - first * entries[0][1]) // (count - first)
        entries[1] = (count - first, rest)
        body = struct.pack('>II', 0, len(entries)) + b''.join(struct.pack('>II', *e)
                                                                for e in entries)
        return struct.pack('>I4s', 8 + len(body), b'stts') + body

    return edit_mp4_boxes(data, edit)


def make_broken(directory: Path, kind: str) -> Path:
    """A file of the given kind of breakage in ``directory``; returns its path."""
    if kind == 'missing':
        return directory / 'missing.mp4'
    if kind == 'zero_bytes':
        path = directory / 'zero.mp4'
        path.write_bytes(b'')
        return path
    if kind == 'random_bytes':
        path = directory / 'random.mp4'
        path.write_bytes(np.random.default_rng(1).bytes(5000))
        return path
    if kind == 'truncated':  # index lost: cut in the middle of an OpenCV mp4
        data = write_video(directory / 'whole.mp4', 40).read_bytes()
        path = directory / 'truncated.mp4'
        path.write_bytes(data[:len(data) // 2])
        return path
    if kind == 'truncated_mid_stream':  # index intact, media data cut
        data = move_moov_first(write_video(directory / 'whole.mp4', 40).read_bytes())
        path = directory / 'truncated_stream.mp4'
        path.write_bytes(data[:len(data) * 6 // 10])
        return path
    if kind == 'truncated_avi':  # decord segfaults reading it from memory
        data = write_video(directory / 'whole.avi', 40, 'MJPG').read_bytes()
        path = directory / 'truncated.avi'
        path.write_bytes(data[:len(data) // 2])
        return path
    if kind == 'short':
        return write_video(directory / 'short.mp4', 4)
    raise ValueError(kind)


def write_annotation(path: Path, lines) -> Path:
    path.write_text(''.join(f'{line}\n' for line in lines))
    return path


def write_frames(frame_dir: Path, num_frames: int, modality: str = 'RGB') -> Path:
    """A rawframe directory as MMAction2 stores it (img_00001.jpg or x_/y_00001.jpg)."""
    frame_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    for index in range(1, num_frames + 1):
        if modality == 'RGB':
            cv2.imwrite(str(frame_dir / f'img_{index:05}.jpg'),
                        rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
        else:
            for axis in 'xy':
                cv2.imwrite(str(frame_dir / f'{axis}_{index:05d}.jpg'),
                            rng.integers(0, 255, (SIZE, SIZE), dtype=np.uint8))
    return frame_dir


__all__ = ['SIZE', 'write_video', 'write_h264_video', 'move_moov_first', 'edit_mp4_boxes', 'rotated_mp4',
           'variable_rate_mp4', 'make_broken', 'write_annotation', 'write_frames']


# --------------------------------------------------------------------- source models


CONFIG_DIR = os.path.join(os.path.dirname(__file__), '..', 'configs', 'pretrained')
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


def random_checkpoint(config: Union[Path, str, Config], out_file: Path, seed: int = 0) -> Path:
    """A checkpoint of ``config``'s recognizer (a config file or a Config) as training saves
    it, with random weights and BN statistics (``randomize``: features and scores depend on
    every layer) and an fc whose softmax is far from uniform; returns ``out_file``."""
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    randomize(model.backbone, seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.cls_head.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(config=str(cfg.filename))),
               str(out_file))
    return out_file


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


class RunsACommand:
    """What a hostile pickle does: run a shell command when loaded (here, create ``marker``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def write_python2_pickle(obj: object, path: str) -> None:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    data = buffer.getvalue().replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
    with open(path, 'wb') as file:
        file.write(data)


# VMZ's Caffe2 blob names (its builders' naming rules, r3d_model.py / video_model.py).

#: Index of each stage's first block in VMZ's block counter (comp_<i>).
FIRST_BLOCKS = {18: (0, 2, 4, 6), 34: (0, 3, 7, 13)}
BN_SUFFIXES = {'weight': 's', 'bias': 'b', 'running_mean': 'rm', 'running_var': 'riv'}

#: torchvision / ig65m-pytorch module names -> VMZ blob prefixes (as ig65m-pytorch's
#: convert.py pairs them); the stem names depend on whether it is (2+1)D.
_TV_BLOCK = r'layer(?P<stage>\d)\.(?P<block>\d+)\.conv(?P<j>\d)'
TORCHVISION_NAMES = [
    (_TV_BLOCK + r'\.0\.0', 'comp_{i}_conv_{j}_middle'),
    (_TV_BLOCK + r'\.0\.1', 'comp_{i}_spatbn_{j}_middle'),
    (_TV_BLOCK + r'\.0(\.3)?', 'comp_{i}_conv_{j}'),
    (_TV_BLOCK + r'\.1', 'comp_{i}_spatbn_{j}'),
    (r'layer(?P<stage>\d)\.(?P<block>0)\.downsample\.0', 'shortcut_projection_{i}'),
    (r'layer(?P<stage>\d)\.(?P<block>0)\.downsample\.1', 'shortcut_projection_{i}_spatbn'),
    (r'fc', 'last_out_L{n}'),
]
TORCHVISION_STEM = {
    True: {'stem.0': 'conv1_middle', 'stem.1': 'conv1_middle_spatbn_relu', 'stem.3': 'conv1',
           'stem.4': 'conv1_spatbn_relu'},
    False: {'stem.0': 'conv1', 'stem.1': 'conv1_spatbn_relu'},
}


def to_blobs(state: dict, rules: list, depth: int, num_classes: int) -> dict:
    """A state dict in VMZ's Caffe2 naming (float32 numpy arrays, no batch counters)."""
    blobs = {}
    for key, tensor in state.items():
        module, param = key.rsplit('.', 1)
        if param == 'num_batches_tracked':
            continue
        for pattern, blob in rules:
            match = re.fullmatch(pattern, module)
            if match:
                break
        else:
            raise KeyError(key)
        fields = match.groupdict()
        if 'stage' in fields:
            fields['i'] = FIRST_BLOCKS[depth][int(fields['stage']) - 1] + int(fields['block'])
        name = blob.format(n=num_classes, **fields)
        is_norm = 'spatbn' in name
        suffix = BN_SUFFIXES[param] if is_norm else {'weight': 'w', 'bias': 'b'}[param]
        blobs[f'{name}_{suffix}'] = tensor.detach().numpy().astype(np.float32)
    return blobs


def torchvision_blobs(model: torch.nn.Module, depth: int) -> dict:
    state = model.state_dict()
    stem = TORCHVISION_STEM['stem.3.weight' in state]
    rules = [(re.escape(ours), theirs) for ours, theirs in stem.items()] + TORCHVISION_NAMES
    return to_blobs(state, rules, depth, model.fc.out_features)


# --------------------------------------------------------------------------- configs


def shrink_demo_config(network: str, data_root: Path, out_file: Path,
                       crop_size: int = 28, base_channels: int = 8,
                       max_epochs: int = 1) -> Path:
    """Write the demo config of ``network`` at tiny sizes, reading ``data_root``."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(DEMO_CONFIGS[network]))
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=4 if split == 'train' else 1, num_workers=0,
                      persistent_workers=False)
        loader.dataset.ann_file = osp.join(str(data_root), f'{split}.txt')
        loader.dataset.data_prefix = dict(video=str(data_root))
        for transform in loader.dataset.pipeline:
            if transform['type'] == 'RandomCrop':
                transform['size'] = crop_size
            elif transform['type'] == 'CenterCrop':
                transform['crop_size'] = crop_size
    cfg.model.backbone.base_channels = base_channels
    cfg.model.cls_head.in_channels = base_channels * 8
    cfg.label_map = osp.join(str(data_root), 'classes.txt')
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]  # no TensorBoard start-up
    cfg.randomness = dict(seed=0)
    cfg.dump(str(out_file))
    return out_file


def tiny_recognizer_config(network: str = 'R(2+1)D', in_channels: int = 3, clip_len: int = 8,
                           depth: int = 10, num_classes: int = 5) -> Config:
    """The project's recognizer (``configs/_base_/models/recognizer_rgb.py`` / ``_flow``:
    head, normalisation) around a paper network at width 4, as a ``Config``."""
    base = Config.fromfile(str(REPO / 'configs/_base_/models' / (
        'recognizer_rgb.py' if in_channels == 3 else 'recognizer_flow.py')))
    model = base.model
    model.backbone.update(r21d_plugin.paper_backbone(
        network, depth=depth, clip_len=clip_len, in_channels=in_channels, base_channels=4))
    model.cls_head.update(in_channels=32, num_classes=num_classes)
    return Config(dict(model=model.to_dict()))


# ----------------------------------------------------------------------------- tools


#: The folder of this interpreter's console scripts (``pip install -e .`` writes them).
SCRIPTS = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port free on this machine now (for a process group's rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cli_tools() -> List[str]:
    """The modules of ``r21d_plugin/cli`` that are tools (define ``main``), not its helpers."""
    return sorted(path.stem for path in (REPO / 'r21d_plugin' / 'cli').glob('*.py')
                  if re.search(r'^def main\(', path.read_text(), re.MULTILINE))


def run_tool(*command, cwd: Path = REPO, env: Optional[dict] = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a tool to its end: ``tools/x.py`` through this interpreter, a console script or a
    launch script (``PYTHON`` is this interpreter), one OpenMP thread, a free port for
    torchrun, from the repository root unless ``cwd`` says otherwise."""
    command = [str(part) for part in command]
    if command[0].endswith('.py'):
        command.insert(0, sys.executable)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHON': sys.executable,
           'PORT': str(free_port()), **(env or {})}
    return subprocess.run(command, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                          text=True)


def sports1m_not_prepared(cwd: Path) -> str:
    """What the tools say when Sports-1M's training list is missing (working folder ``cwd``)."""
    return ('Sports-1M is not prepared: data/sports1m/sports1m_train_list_videos.txt, the '
            f'annotation file of train_dataloader, does not exist (relative to {cwd}).\n'
            'Prepare Sports-1M with tools/data/sports1m/README.md: download the videos into '
            'data/sports1m/videos, then r21d-build-sports1m-annotations --train ... --test ... '
            '--labels ... --video-dir data/sports1m/videos --out-dir data/sports1m '
            '(docs/reproduction.md, '
            '"Data preparation").')


class WeightsServer:
    """A loopback HTTP server (127.0.0.1, a thread) serving files as a publisher would, for
    the zoo's tests: no test contacts a real publisher.

    ``files`` maps URL paths (``/models/x.pth``) to bytes. It answers ``Range`` requests
    with 206 (unless ``honour_range`` is False: then always the whole file, with 200),
    counts the GET requests of each path (``requests``) and keeps their Range headers
    (``ranges``). ``drop_after[path] = n`` makes the next request of ``path`` send n bytes of
    its body and close the connection; ``fail_next[path] = [503, ...]`` makes the next
    requests answer those statuses.
    """

    def __init__(self, files: dict, honour_range: bool = True):
        import http.server
        import threading

        self.files, self.honour_range = dict(files), honour_range
        self.requests, self.ranges = {}, {}
        self.drop_after, self.fail_next = {}, {}
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):

            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    server.requests[self.path] = server.requests.get(self.path, 0) + 1
                    server.ranges.setdefault(self.path, []).append(self.headers.get('Range'))
                    failures = server.fail_next.get(self.path) or []
                    status = failures.pop(0) if failures else None
                    drop = server.drop_after.pop(self.path, None)
                if status is not None:
                    self.send_error(status)
                    return
                if self.path not in server.files:
                    self.send_error(404)
                    return
                data = server.files[self.path]
                start = 0
                match = re.fullmatch(r'bytes=(\d+)-', self.headers.get('Range') or '')
                if match and server.honour_range:
                    start = int(match[1])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header('Content-Range',
                                     f'bytes {start}-{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body if drop is None else body[:drop])
                if drop is not None:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.httpd.server_address[1]}'

    def __enter__(self) -> 'WeightsServer':
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


#: The metafile's entries the zoo tests serve, by the format their publisher's file has.
ZOO_MODELS = {'torchvision': 'mc3_r18_torchvision_16x1x10_kinetics400-rgb',
              'caffe2': 'mc3_r18_vmz_8x1x10_kinetics400-rgb'}


def zoo_metafile(path, base_url: str, files: dict, names: dict = ZOO_MODELS) -> str:
    """The packaged metafile's entries of ``names`` (``{format: name}``), their weights at
    ``base_url`` (``files``: ``{format: (file name, bytes)}``); a digest prefix where the
    real entry has one (the file's own), ``unknown`` where it has none."""
    with open(f'{CONFIG_DIR}/metafile.yml') as file:
        models = {model['Name']: model for model in yaml.safe_load(file)['Models']}
    entries = []
    for kind, name in names.items():
        entry, (file_name, data) = models[name], files[kind]
        source = entry['Converted From']
        if source['SHA256 Prefix'] != 'unknown':
            source['SHA256 Prefix'] = hashlib.sha256(data).hexdigest()[:8]
        source.update(Weights=f'{base_url}/{kind}/{file_name}', File=file_name)
        entries.append(entry)
    with open(path, 'w') as file:
        yaml.safe_dump({'Models': entries}, file)
    return str(path)
