"""The data pipeline's speed: training and 10-clip test clips/s on generated videos, and
decoder calls per test video."""
import os.path as osp
import tempfile
import time
from typing import Dict, List

import numpy as np

from .settings import BenchmarkSettings, config_name


def _retimed(pipeline: List[dict], clip_len: int) -> List[dict]:
    return [dict(step, clip_len=clip_len) if step['type'] == 'SampleFrames' else dict(step)
            for step in pipeline]


def _count_decoder_calls(dataset) -> Dict[str, object]:
    """Decoder calls and frames per call while the dataset's pipeline reads every video."""
    import decord

    calls: List[int] = []
    original = decord.VideoReader.get_batch

    def counting(self, indices):
        calls.append(len(indices))
        return original(self, indices)

    decord.VideoReader.get_batch = counting
    try:
        shapes = [tuple(dataset[index]['inputs'].shape) for index in range(len(dataset))]
    finally:
        decord.VideoReader.get_batch = original
    return dict(videos=len(dataset), decoder_calls=len(calls),
                decoder_calls_per_video=len(calls) / len(dataset),
                frames_per_call=sorted(set(calls)), inputs_shape=sorted(set(shapes)))


def _loader_throughput(dataset, batch_size: int, workers: int, batches: int,
                       sampler) -> Dict[str, float]:
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                        sampler=sampler, collate_fn=pseudo_collate)
    iterator = iter(loader)
    next(iterator)  # worker start-up and first decode are not throughput
    start = time.perf_counter()
    samples = 0
    for _ in range(batches):
        samples += len(next(iterator)['inputs'])
    seconds = time.perf_counter() - start
    del iterator
    return dict(samples_per_s=samples / seconds, seconds=seconds, samples=samples)


def write_benchmark_videos(root: str, count: int, size: int, frames: int) -> str:
    """``count`` MPEG-4 videos of ``frames`` frames and an annotation file; returns its path.

    Made of the motion dataset's 32-frame scenes back to back: its generator draws motions
    that fit about 32 frames, while decoding costs need videos as long as real ones.
    """
    from ..data.prep.motion_dataset import (MOTION_CLASSES, render_clip, sample_motion_clip,
                                       video_rng, write_video)

    scene_frames = 32
    scenes = -(-frames // scene_frames)
    lines = []
    for index in range(count):
        label = index % len(MOTION_CLASSES)
        video = np.concatenate([
            render_clip(sample_motion_clip(video_rng(0, 'test', index * scenes + scene),
                                           label, size, scene_frames))
            for scene in range(scenes)])[:frames]
        name = f'{index:05d}.mp4'
        write_video(video, osp.join(root, name), fps=30)
        lines.append(f'{name} {label}\n')
    ann_file = osp.join(root, 'videos.txt')
    with open(ann_file, 'w') as f:
        f.writelines(lines)
    return ann_file


def measure_pipeline(settings: BenchmarkSettings) -> Dict[str, object]:
    """Decoded-and-augmented clips/s of the data config's train and 10-clip test pipelines.

    ``pipeline_videos`` generated videos of ``video_size`` x ``video_size`` pixels and
    ``video_frames`` frames are read through MMAction2's ``VideoDataset`` with the data
    config's pipelines (clip length set to ``clip_len``), batch sizes (training: the
    benchmark's) and worker count (unless ``workers`` is given).
    """
    from mmengine.config import Config
    from torch.utils.data import RandomSampler

    from mmaction.registry import DATASETS

    cfg = Config.fromfile(settings.data_config)
    workers = (settings.workers if settings.workers is not None
               else cfg.train_dataloader.num_workers)
    test_pipeline = _retimed(cfg.test_pipeline, settings.clip_len)
    num_test_clips = next(step['num_clips'] for step in test_pipeline
                          if step['type'] == 'SampleFrames')
    train_batch, test_batch = settings.batch_size, cfg.test_dataloader.batch_size
    batches = settings.pipeline_batches
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        ann_file = write_benchmark_videos(root, settings.pipeline_videos,
                                          settings.video_size, settings.video_frames)
        generate_s = time.perf_counter() - start

        def dataset(pipeline: List[dict], test_mode: bool):
            return DATASETS.build(dict(type='VideoDataset', ann_file=ann_file,
                                       data_prefix=dict(video=root), pipeline=pipeline,
                                       test_mode=test_mode))

        train_set = dataset(_retimed(cfg.train_pipeline, settings.clip_len), False)
        test_set = dataset(test_pipeline, True)
        decoding = _count_decoder_calls(test_set)
        train = _loader_throughput(
            train_set, train_batch, workers, batches,
            RandomSampler(train_set, replacement=True,
                          num_samples=train_batch * (batches + 1)))
        test = _loader_throughput(
            test_set, test_batch, workers, batches,
            RandomSampler(test_set, replacement=True, num_samples=test_batch * (batches + 1)))
    return dict(
        data_config=config_name(settings.data_config),
        workers=workers, videos=len(test_set), video_size=settings.video_size,
        video_frames=settings.video_frames, generate_s=generate_s,
        train_clips_per_s=train['samples_per_s'], train_batch=train_batch,
        test_videos_per_s=test['samples_per_s'],
        test_clips_per_s=test['samples_per_s'] * num_test_clips, test_batch=test_batch,
        test_clips_per_video=num_test_clips, test_decoding=decoding)
