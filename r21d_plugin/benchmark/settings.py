"""What one benchmark run measures: its settings and the constants they name."""
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch

from ..configs import resolve_config
from ..engine.device import AMP_DTYPES  # noqa: F401 (re-exported: the run's --amp names)
from ..models import PAPER_NAMES


ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def config_name(path: str) -> str:
    """A config's path as reports show it: relative to the project where it lies inside."""
    return osp.relpath(path, ROOT) if path.startswith(ROOT) else path


#: The project's recognizer (head and normalisation) for the 10-clip test measurement.
RECOGNIZER_CONFIG = resolve_config('_base_/models/recognizer_rgb.py')
#: The project's Kinetics pipelines and worker count for the data measurement.
DATA_CONFIG = resolve_config('_base_/datasets/kinetics400_rgb.py')
#: Published networks whose inference, timeline, feature extraction and export are measured.
USE_CONFIGS = (resolve_config('pretrained/r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb'),
               resolve_config('pretrained/r2plus1d_r34_vmz_32x1x10_kinetics400-rgb'))

PEER_FAMILIES = ('mmaction2', 'torchvision')
PRECISION_NAMES = {torch.float32: 'float32', torch.bfloat16: 'bfloat16',
                   torch.float16: 'float16'}


@dataclass
class BenchmarkSettings:
    """What one run measures (``tools/benchmark.py`` exposes each as a flag).

    Args:
        networks: paper names (``r21d_plugin.PAPER_NAMES``) to measure.
        depth, clip_len, crop_size, batch_size: the input and the networks' depth.
        base_channels: width of our networks and the peers (64 in the paper; smaller for
            quick checks).
        num_classes: classes of the fc layer every model ends with.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch CPU threads (None: torch's default).
        cpu_malloc: ``'keep'`` has glibc keep freed memory for reuse, as our train and test
            tools do (``r21d_plugin.engine.cpu_memory``), for every model of the run alike;
            ``'default'`` leaves glibc's defaults (as a plain Python process runs).
        amp: each of ``'bf16'``, ``'fp16'`` given adds a row per model under autocast in
            that precision (ours through its ``compute_dtype`` switch).
        channels_last: adds a row per peer run in channels_last_3d (ours is by default).
        plain: adds our plain path (contiguous layout, separate BatchNorms) for comparison.
        compile: adds ``torch.compile`` rows (compile time reported): ours, and each peer
            as users run it; compiled rows are compared with compiled peers only.
        peers: the peer families measured, among ``'mmaction2'`` and ``'torchvision'``.
        warmup, iters: untimed and timed calls per measurement.
        test_clips, test_videos: the 10-clip test measurement (clips per video, videos per
            batch); 0 clips turns it off.
        pipeline: measure the data pipeline.
        data_config: dataset config whose train/test pipelines and workers are measured.
        workers: data loader workers (None: the data config's).
        pipeline_videos, video_size, video_frames, pipeline_batches: the generated videos
            (per split) and how many batches are timed.
        use_side: measure the use side (``use_side.py``): inference, timeline, feature
            extraction and the ONNX export (ONNX Runtime, OpenVINO) of each of
            ``use_configs`` (recognizer configs with a test pipeline; their networks at the
            configs' own sizes).
        use_video_seconds, use_video_size: the generated video the use side runs on (30 fps;
            height, width).
        use_decoders: the video decoders whose use-side rows are measured
            (``decoding.py``); empty: every installed CPU backend, and torchcodec's CUDA
            decoding on a GPU.
        runtime_cpu_mallocs: the allocator settings (``'keep'``, ``'default'``, as
            ``cpu_malloc``) the use side's exported file and PyTorch are timed in, side by
            side (a process each).
    """

    networks: Sequence[str] = ('R(2+1)D', )
    depth: int = 18
    clip_len: int = 16
    crop_size: int = 112
    batch_size: int = 8
    base_channels: int = 64
    num_classes: int = 400
    device: str = 'cpu'
    threads: Optional[int] = None
    cpu_malloc: str = 'keep'
    amp: Sequence[str] = ()
    channels_last: bool = False
    plain: bool = True
    compile: bool = False
    peers: Sequence[str] = ('mmaction2', 'torchvision')
    warmup: int = 1
    iters: int = 3
    test_clips: int = 10
    test_videos: int = 1
    pipeline: bool = True
    data_config: str = DATA_CONFIG
    workers: Optional[int] = None
    pipeline_videos: int = 8
    video_size: int = 256
    video_frames: int = 160
    pipeline_batches: int = 8
    use_side: bool = True
    use_configs: Sequence[str] = USE_CONFIGS
    use_video_seconds: float = 4.0
    use_video_size: Tuple[int, int] = (240, 320)
    use_decoders: Sequence[str] = ()
    runtime_cpu_mallocs: Sequence[str] = ('keep', 'default')

    def __post_init__(self) -> None:
        unknown = [name for name in self.networks if name not in PAPER_NAMES]
        if unknown:
            raise KeyError(f'unknown network(s) {unknown}; choose from {list(PAPER_NAMES)}')
        unknown = [name for name in self.amp if name not in AMP_DTYPES]
        if unknown:
            raise ValueError(f'amp must be among {list(AMP_DTYPES)}, got {unknown}')
        for malloc in (self.cpu_malloc, *self.runtime_cpu_mallocs):
            if malloc not in ('keep', 'default'):
                raise ValueError(f"cpu_malloc must be 'keep' or 'default', got {malloc!r}")
        if self.device not in ('cpu', 'cuda'):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError('--device cuda asked for, but torch sees no CUDA device')
        unknown = [name for name in self.peers if name not in PEER_FAMILIES]
        if unknown:
            raise ValueError(f'peers must be among {list(PEER_FAMILIES)}, got {unknown}')
        if self.iters < 1 or self.warmup < 1:
            raise ValueError('warmup and iters must be at least 1 (the first warm-up call '
                             'counts the FLOPs)')
