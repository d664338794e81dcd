"""Speed and memory of the use side (the benchmark's use-side rows, tools/analysis/*.py).

* ``inference_throughput``: ``predict``'s videos per second (decoding, the config's
  multi-clip test as one batch) and ``timeline``'s windows per second, on a video.
* ``measure_extraction``: ``extract_features``' windows per second, and where the time goes.
* ``timeline_peak_memory``: the peak resident memory of a fresh process that runs
  ``timeline`` on a generated video of a given length (``timeline_memory``, in a spawned
  process): it must not grow with the length.

Videos are generated (``write_test_video``: smooth noise drifting across the frame, mp4v),
so the figures need no dataset; speed does not depend on the weights, which are random
without a checkpoint.
"""
import multiprocessing
import os.path as osp
import resource
import tempfile
import time
from typing import Dict, Optional, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from tqdm import tqdm

from ..apis.features import FeatureExtractor, extract_features
from ..apis.inference import predict, timeline
from ..apis.loading import load_recognizer


def write_test_video(path: str, seconds: float, fps: int = 30,
                     size: Tuple[int, int] = (112, 112), progress: bool = False) -> str:
    """A ``seconds`` long mp4v video of ``size`` (height, width) frames at ``fps``."""
    height, width = size
    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.integers(0, 256, (height // 8 + 1, 2 * width // 8 + 1, 3),
                                      dtype=np.uint8), (2 * width, height),
                         interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot write an mp4v video there')
    num_frames = int(round(seconds * fps))
    for index in tqdm(range(num_frames), unit='frame', desc=osp.basename(path),
                      disable=not progress):
        shift = index % width
        writer.write(np.ascontiguousarray(texture[:, shift:shift + width]))
    writer.release()
    return path


def _synchronize(device: str) -> None:
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def inference_throughput(config: Union[str, Config],
                         video: str,
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         num_videos: int = 1,
                         window: Optional[int] = None,
                         stride: Optional[int] = None,
                         batch_size: int = 8) -> Dict[str, float]:
    """Videos per second of ``predict`` and windows per second of ``timeline`` on ``video``.

    ``predict`` runs once to warm up, then ``num_videos`` times (timed, decoding included);
    ``timeline`` runs once over the whole video.

    Returns:
        dict: ``videos_per_s``, ``clips_per_video``, ``windows_per_s``, ``windows``,
        ``frames`` (of the video), ``device``.
    """
    recognizer = load_recognizer(config, checkpoint, device, labels=False)
    warm = predict(recognizer, video)
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(num_videos):
        predict(recognizer, video)
    _synchronize(device)
    predict_s = time.perf_counter() - start
    start = time.perf_counter()
    windows = timeline(recognizer, video, window, stride, batch_size=batch_size)
    _synchronize(device)
    timeline_s = time.perf_counter() - start
    return dict(videos_per_s=num_videos / predict_s, clips_per_video=len(warm.clip_frames),
                windows_per_s=len(windows.starts) / timeline_s, windows=len(windows.starts),
                frames=warm.video.num_frames, device=str(device))


def timeline_memory(config: str, video: str, checkpoint: Optional[str] = None,
                    device: str = 'cpu', stride: Optional[int] = None,
                    decoder: str = 'auto') -> Dict[str, float]:
    """Load a recognizer and run ``timeline`` on ``video`` in this process; report its peak
    resident memory (``ru_maxrss``) after loading and after the timeline.

    Returns:
        dict: ``frames``, ``windows``, ``loaded_mb``, ``peak_mb``.
    """
    recognizer = load_recognizer(config, checkpoint, device, labels=False)
    loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = timeline(recognizer, video, stride=stride, decoder=decoder)
    return dict(frames=result.video.num_frames, windows=len(result.starts),
                loaded_mb=loaded_kb / 1024,
                peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _timeline_memory_child(queue, *args) -> None:
    queue.put(timeline_memory(*args))


def timeline_peak_memory(config: str,
                         minutes: float,
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         size: Tuple[int, int] = (112, 112),
                         fps: int = 30,
                         stride: Optional[int] = None,
                         work_dir: Optional[str] = None,
                         decoder: str = 'auto') -> Dict[str, float]:
    """Peak resident memory of ``timeline`` on a generated ``minutes`` long video.

    The video is written into ``work_dir`` (default: a temporary folder, removed after)
    and ``timeline_memory`` runs in a fresh process, so nothing else counts in its peak.

    Returns:
        dict: ``minutes``, ``frames``, ``windows``, ``loaded_mb``, ``peak_mb``.
    """
    with tempfile.TemporaryDirectory(dir=work_dir) as directory:
        video = write_test_video(osp.join(directory, f'{minutes:g}min.mp4'), minutes * 60,
                                 fps, size, progress=True)
        context = multiprocessing.get_context('spawn')
        queue = context.Queue()
        child = context.Process(target=_timeline_memory_child,
                                args=(queue, config, video, checkpoint, device, stride,
                                      decoder))
        child.start()
        child.join()  # the result is a few numbers: the child's queue never blocks it
        if child.exitcode:
            raise RuntimeError(f'the timeline process failed (exit {child.exitcode})')
        result = queue.get(timeout=60)
    return dict(minutes=minutes, **result)


def measure_extraction(config: str, video: str, layer: str = 'pool5',
                       amp: Optional[str] = None, batch_size: int = 8, workers: int = 0,
                       clip_len: Optional[int] = None, stride: Optional[int] = None,
                       device: str = 'cpu', decoder: str = 'auto') -> Dict[str, float]:
    """Windows per second of ``extract_features`` on one video (decoded with ``decoder``),
    and where the time goes.

    The network of ``config`` keeps its initial weights (the speed does not depend on
    them). With ``workers=0`` decoding, preprocessing and the network take turns in one
    process, so the shares add up to the whole; with loading workers, decoding overlaps the
    network and the rate approaches the network's own, ``model_windows_per_s``.

    Returns:
        dict: ``windows``, ``windows_per_s`` (wall clock, the worker start-up included),
        ``model_windows_per_s``, and ``decode_share``, ``prepare_share``, ``model_share`` of
        the busy time.
    """
    model = load_recognizer(config, None, device, labels=False).model
    extractor = FeatureExtractor(model, layer, clip_len=clip_len, stride=stride, amp=amp,
                                 decoder=decoder)
    with tempfile.TemporaryDirectory() as out:
        timing = extract_features(extractor, video, out, batch_size=batch_size,
                                  workers=workers, progress=False).timing
    busy = timing['decode_s'] + timing['prepare_s'] + timing['model_s']
    return dict(windows=timing['windows'],
                windows_per_s=timing['windows'] / timing['wall_s'],
                model_windows_per_s=timing['windows'] / timing['model_s'],
                decode_share=timing['decode_s'] / busy,
                prepare_share=timing['prepare_s'] / busy,
                model_share=timing['model_s'] / busy)
