"""clip@1 and video@k from one multi-clip test run (the paper's protocol, Table 2)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmaction.evaluation.functional import top_k_accuracy
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of the per-class top-1 accuracy.

    MMAction2's version averages over every class that is predicted *or* present, so a
    class predicted but absent from a small test set counts as 0% and lowers the mean.
    """
    hits = np.argmax(scores, axis=1) == labels
    classes = np.unique(labels)
    return float(np.mean([hits[labels == c].mean() for c in classes]))


def _to_numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else \
        np.asarray(value)


@METRICS.register_module()
class ClipVideoAccuracy(BaseMetric):
    """clip@1, video@1, video@5 and mean class accuracy of a multi-clip test.

    * ``video@k``: top-k accuracy of each video's ``pred_score`` (MMAction2's softmax
      averaged over the clips, ``average_clips='prob'``), as in the paper.
    * ``clip@1``: top-1 accuracy of every single clip (each clip of each video counted
      once), from ``clip_scores``, which ``MultiClipRecognizer3D`` attaches.
    * ``mean_class_accuracy``: video-level top-1 averaged over classes.

    In a distributed test the results of all processes are gathered and cut to the
    dataset's length before ``compute_metrics``, so samples that the sampler repeats to
    even out the processes are not counted twice. ``tools/test.py --dump`` keeps the
    per-clip scores for ``tools/analysis/accuracy_vs_clips.py``.

    Args:
        topk (Sequence[int]): the k of ``video@k``. Defaults to (1, 5).
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are gathered.
        prefix (str, optional): prefix of the metric names (default ``'acc'``: keys
            ``acc/video@1``, ...); a two-stream test uses e.g. ``'rgb'``.
    """

    default_prefix: Optional[str] = 'acc'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if 1 not in topk:
            raise ValueError(f'topk must contain 1 (video@1 is the paper\'s metric), '
                             f'got {tuple(topk)}')
        self.topk = tuple(topk)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep each sample's label, video score and clip scores (on the CPU)."""
        for sample in data_samples:
            if 'clip_scores' not in sample:
                raise KeyError(
                    'ClipVideoAccuracy needs the per-clip scores "clip_scores" of each '
                    'sample: use model type MultiClipRecognizer3D (or a recognizer that '
                    'sets data_sample.clip_scores)')
            self.results.append(dict(
                label=int(_to_numpy(sample['gt_label']).reshape(-1)[0]),
                pred_score=_to_numpy(sample['pred_score']).astype(np.float32),
                clip_scores=_to_numpy(sample['clip_scores']).astype(np.float32)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracies over all gathered results."""
        labels = np.array([r['label'] for r in results])
        video_scores = np.stack([r['pred_score'] for r in results])
        clip_scores = np.concatenate([r['clip_scores'] for r in results])
        clip_labels = np.concatenate(
            [np.full(len(r['clip_scores']), r['label']) for r in results])
        video_topk = top_k_accuracy(video_scores, labels, self.topk)
        metrics = {f'video@{k}': float(acc) for k, acc in zip(self.topk, video_topk)}
        metrics['clip@1'] = float(top_k_accuracy(clip_scores, clip_labels, (1, ))[0])
        metrics['mean_class_accuracy'] = mean_class_accuracy(video_scores, labels)
        return metrics
