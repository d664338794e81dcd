"""The use side's speed: the inference tool, long-video timelines, feature extraction and the
exported file's runtime, for each of the run's use configs on one generated video.

Per config (``BenchmarkSettings.use_configs``, published networks' configs by default):

* ``predict``'s videos/s (decoding and the config's multi-clip test, its clips in one batch)
  and ``timeline``'s windows/s (windows tiling the video), float32;
* feature extraction's windows/s (``pool5``, no loading workers, so decoding, preprocessing
  and the network take turns and their shares of the time add up), in float32 and in each
  autocast precision of the run;
* per video decoder (``decoding.py``): decoding alone and feature extraction with it;
* on CPU, the config's network exported to ONNX and run in ONNX Runtime and OpenVINO
  beside PyTorch float32 (and bf16 autocast, and OpenVINO bfloat16, when the run has bf16),
  on the same clips, round-robin, once per allocator setting of ``runtime_cpu_mallocs``
  (each in a process of its own: ``runtimes.compare_runtimes``).

The networks keep their initial weights: speed does not depend on them.
"""
import os.path as osp
import tempfile
from typing import Callable, Dict, List, Optional

from mmengine.config import Config
from tqdm import tqdm

from ..apis.export import ExportError, export_recognizer
from ..apis.runtimes import RuntimeUnavailableError
from .decoding import format_decoders, measure_decoders
from .runtimes import compare_runtimes, format_runtimes
from .use_speed import inference_throughput, measure_extraction, write_test_video
from .settings import AMP_DTYPES, BenchmarkSettings, PRECISION_NAMES, config_name

VIDEO_FPS = 30
EXPORT_BATCH_SIZE = 1  # one clip per call, as a deployed model serving one stream sees them


def _export_rows(config: Config, settings: BenchmarkSettings, directory: str) -> Dict:
    if settings.device != 'cpu':
        return dict(skipped='the exported file is measured on CPU only (ONNX Runtime and '
                    'OpenVINO run it on the CPU here)')
    try:  # (an ExportError here: onnx is not installed, or the config)
        result = export_recognizer(config, None, osp.join(directory, 'model.onnx'))
        rows = compare_runtimes(config, result, (EXPORT_BATCH_SIZE, ), settings.warmup,
                                settings.iters, bf16='bf16' in settings.amp,
                                cpu_mallocs=settings.runtime_cpu_mallocs)
    except (ExportError, RuntimeUnavailableError) as error:
        return dict(skipped=str(error))
    return dict(batch_size=EXPORT_BATCH_SIZE, rows=rows)


def measure_use_side(settings: BenchmarkSettings, progress: bool = True,
                     on_config: Optional[Callable[[Dict[str, object]], None]] = None
                     ) -> Dict[str, object]:
    """Each use config's rows (see the module docstring) on one generated video of
    ``use_video_seconds`` at ``VIDEO_FPS`` and ``use_video_size`` (height, width) pixels.

    ``on_config`` receives the result so far after each config (a run cut short keeps the
    configs it measured)."""
    height, width = settings.use_video_size
    configs: List[Dict[str, object]] = []
    frames = int(round(settings.use_video_seconds * VIDEO_FPS))  # as write_test_video writes
    use_side = dict(video=dict(seconds=settings.use_video_seconds, fps=VIDEO_FPS,
                               height=height, width=width, frames=frames), configs=configs)
    with tempfile.TemporaryDirectory() as directory:
        video = write_test_video(osp.join(directory, 'video.mp4'),
                                 settings.use_video_seconds, VIDEO_FPS, (height, width))
        for path in tqdm(settings.use_configs, desc='use side', unit='config',
                         disable=not progress):
            config = Config.fromfile(path)
            inference = inference_throughput(config, video, device=settings.device,
                                             num_videos=settings.iters)
            extraction = {'float32': measure_extraction(path, video, device=settings.device)}
            for amp in settings.amp:
                extraction[PRECISION_NAMES[AMP_DTYPES[amp]]] = measure_extraction(
                    path, video, amp=amp, device=settings.device)
            decoders = measure_decoders(path, video, settings.device,
                                        settings.use_decoders or None)
            configs.append(dict(config=config_name(path), inference=inference,
                                extraction=extraction, decoders=decoders,
                                export=_export_rows(config, settings, directory)))
            if on_config is not None:
                on_config(use_side)
    return use_side


def format_use_side(use_side: Dict[str, object]) -> List[str]:
    """Markdown tables of ``measure_use_side``'s result."""
    video = use_side['video']
    lines = ['', f"Use side (a generated {video['height']}x{video['width']} video of "
             f"{video['frames']} frames at {video['fps']} fps; initial weights):", '',
             '| config | predict videos/s (clips per video) | timeline windows/s (windows) |',
             '|---|---|---|']
    for entry in use_side['configs']:
        inference = entry['inference']
        lines.append(f"| {entry['config']} | {inference['videos_per_s']:.3g} "
                     f"({inference['clips_per_video']}) | {inference['windows_per_s']:.3g} "
                     f"({inference['windows']}) |")
    lines += ['', '| config | extraction precision | windows/s | network alone, windows/s | '
              'decode | preprocess | network |', '|---|---|---|---|---|---|---|']
    for entry in use_side['configs']:
        for precision, row in entry['extraction'].items():
            lines.append(
                f"| {entry['config']} | {precision} | {row['windows_per_s']:.3g} | "
                f"{row['model_windows_per_s']:.3g} | {100 * row['decode_share']:.0f}% | "
                f"{100 * row['prepare_share']:.0f}% | {100 * row['model_share']:.0f}% |")
    lines += format_decoders(use_side['configs'])
    for entry in use_side['configs']:
        export = entry['export']
        lines += ['', f"{entry['config']}, exported to ONNX, batch "
                  f"{export.get('batch_size', EXPORT_BATCH_SIZE)}:", '']
        if 'skipped' in export:
            lines.append(f"not measured: {export['skipped']}")
            continue
        lines += format_runtimes(export['rows'])
    return lines
