"""The measured steps (inference, a training step, the 10-clip test) and one network's rows
timed together."""
import gc
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS

from ..engine.device import autocast
from .candidates import Candidate, prepare, to_memory_format
from .settings import BenchmarkSettings, RECOGNIZER_CONFIG
from .timing import interleaved_timings, median, summarise


def inference_step(model: nn.Module, clips: torch.Tensor) -> Callable[[], None]:
    """One eval-mode forward pass without gradients."""
    model.eval()

    def step():
        with torch.no_grad():
            model(clips)

    return step


def training_step(model: nn.Module, clips: torch.Tensor,
                  labels: torch.Tensor) -> Callable[[], None]:
    """One training step: forward, cross-entropy, backward, SGD step."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9,
                                weight_decay=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(clips), labels).backward()
        optimizer.step()

    return step


def build_test_recognizer(row: Candidate, settings: BenchmarkSettings,
                          device: torch.device) -> Tuple[nn.Module, List[int]]:
    """The project's recognizer with the row's backbone, and a list that records the batch
    size of every backbone call."""
    from mmengine.config import Config

    recognizer_cfg = Config.fromfile(RECOGNIZER_CONFIG).model
    recognizer_cfg.backbone = row.backbone_cfg
    recognizer_cfg.cls_head.num_classes = settings.num_classes
    recognizer_cfg.cls_head.in_channels = settings.base_channels * 8  # conv5 channels
    recognizer = MODELS.build(recognizer_cfg)
    recognizer.backbone = row.patch_backbone(recognizer.backbone)
    recognizer.init_weights()
    recognizer.to(device).eval()
    if row.memory_format is not torch.contiguous_format:
        to_memory_format(recognizer, row.memory_format)
        recognizer.backbone.register_forward_pre_hook(
            lambda _module, args: (args[0].contiguous(memory_format=row.memory_format), ))
    calls: List[int] = []
    recognizer.backbone.register_forward_hook(
        lambda _module, args, _out: calls.append(args[0].shape[0]))
    return recognizer, calls


def multi_clip_test_step(recognizer: nn.Module, row: Candidate, settings: BenchmarkSettings,
                         device: torch.device) -> Callable[[], None]:
    """One ``test_step`` on ``test_videos`` uint8 videos of ``test_clips`` clips each."""
    from mmaction.structures import ActionDataSample

    size = settings.crop_size
    videos = [torch.randint(0, 256, (settings.test_clips, 3, settings.clip_len, size, size),
                            dtype=torch.uint8) for _ in range(settings.test_videos)]
    samples = [ActionDataSample().set_gt_label(0) for _ in videos]

    def step():
        # no_grad, as MMAction2's TestLoop runs it
        with torch.no_grad(), autocast(device, row.autocast_dtype):
            recognizer.test_step(dict(inputs=videos, data_samples=samples))

    return step


def measure_network(rows: List[Candidate], settings: BenchmarkSettings,
                    device: torch.device, peaks: Dict[str, dict],
                    on_phase: Optional[Callable[[List[dict]], None]] = None) -> List[dict]:
    """Inference, training step and 10-clip test of one network's rows, each interleaved.

    ``on_phase`` receives the results so far after each of the three phases.
    """
    size = settings.crop_size
    torch.manual_seed(0)
    clips = torch.randn(settings.batch_size, 3, settings.clip_len, size, size,
                        device=device)
    labels = torch.randint(0, settings.num_classes, (settings.batch_size, ), device=device)
    models = []
    results = []
    for row in rows:
        torch.manual_seed(0)
        model = prepare(row, device)
        results.append(dict(
            network=row.network, model=row.label, family=row.family,
            precision=row.precision, layout=row.layout, compiled=row.compile, note=row.note,
            params_m=sum(p.numel() for p in model.parameters()) / 1e6))
        # The FLOP counter cannot look into compiled code: compiled rows take their twin's.
        models.append(torch.compile(model) if row.compile else model)
    count = [not row.compile for row in rows]
    for mode, make_step in (('inference', lambda m: inference_step(m, clips)),
                            ('training', lambda m: training_step(m, clips, labels))):
        timings = interleaved_timings([make_step(model) for model in models], count,
                                      device, settings.warmup, settings.iters)
        by_label = {row.label: timing for row, timing in zip(rows, timings)}
        for row, timing, result in zip(rows, timings, results):
            if row.compile:
                timing['flops'] = by_label[row.label.replace(' compiled', '')]['flops']
            result[mode] = summarise(timing, settings.batch_size,
                                      peaks[row.precision]['peak_gflops'])
        if on_phase is not None:
            on_phase(results)
    for row, result in zip(rows, results):
        if row.compile:
            result['compile_s'] = (result['inference']['first_call_s']
                                   + result['training']['first_call_s'])
    del models
    if any(row.compile for row in rows):
        # The compiled models share code objects (``Prepared.forward``): without a reset the
        # next network's would count against dynamo's recompile limit and could run eager.
        torch._dynamo.reset()
    gc.collect()
    tested = [index for index, row in enumerate(rows)
              if row.measure_test and settings.test_clips > 0]
    for result in results:
        result['test'] = None
    if tested:
        recognizers = [build_test_recognizer(rows[index], settings, device)
                       for index in tested]
        steps = [multi_clip_test_step(recognizer, rows[index], settings, device)
                 for index, (recognizer, _calls) in zip(tested, recognizers)]
        timings = interleaved_timings(steps, [False] * len(steps), device, settings.warmup,
                                      settings.iters)
        calls_per_video_batch = settings.warmup + settings.iters
        for index, (_recognizer, calls), timing in zip(tested, recognizers, timings):
            step_s = median(timing['seconds'])
            results[index]['test'] = dict(
                videos_per_s=settings.test_videos / step_s,
                clips_per_s=settings.test_videos * settings.test_clips / step_s,
                step_s=step_s, seconds=timing['seconds'],
                cpu_seconds=timing['cpu_seconds'], peak_mib=timing['peak_mib'],
                backbone_calls_per_batch=len(calls) // calls_per_video_batch,
                backbone_batch_sizes=sorted(set(calls)))
        del recognizers, steps
        if on_phase is not None:
            on_phase(results)
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return results
