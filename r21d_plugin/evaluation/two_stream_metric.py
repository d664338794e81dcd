"""RGB-only, flow-only and fused clip@1 / video@k of one two-stream test run."""
from typing import Any, Dict, List, Sequence

from mmaction.registry import METRICS
from .clip_video_accuracy import ClipVideoAccuracy

#: Metric-name prefix -> the (video score, clip scores) fields ``TwoStreamRecognizer`` sets.
STREAM_FIELDS = {
    'rgb': ('rgb_score', 'rgb_clip_scores'),
    'flow': ('flow_score', 'flow_clip_scores'),
    'two_stream': ('pred_score', 'clip_scores'),
}


@METRICS.register_module()
class TwoStreamClipVideoAccuracy(ClipVideoAccuracy):
    """``ClipVideoAccuracy`` of each stream and of their fusion, from one test run.

    Reads the fields ``TwoStreamRecognizer`` attaches to each sample and reports, for
    ``rgb``, ``flow`` and ``two_stream`` (the fused scores), the metrics of
    ``ClipVideoAccuracy``: ``rgb/video@1``, ``rgb/clip@1``, ..., ``two_stream/video@1``.
    One result is kept per sample (all three streams in it), so distributed gathering
    cuts the results to the dataset's length as usual.

    Args:
        topk (Sequence[int]): the k of ``video@k``. Defaults to (1, 5).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): an extra prefix before the stream names (none by default).
    """

    default_prefix = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep each sample's label and the three streams' video and clip scores."""
        for sample in data_samples:
            streams = {}
            for stream, (video_key, clip_key) in STREAM_FIELDS.items():
                if video_key not in sample or clip_key not in sample:
                    raise KeyError(f'TwoStreamClipVideoAccuracy needs "{video_key}" and '
                                   f'"{clip_key}" in each sample: use model type '
                                   f'TwoStreamRecognizer')
                view = dict(gt_label=sample['gt_label'], pred_score=sample[video_key],
                            clip_scores=sample[clip_key])
                super().process(data_batch, [view])
                streams[stream] = self.results.pop()
            self.results.append(streams)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """``ClipVideoAccuracy``'s metrics of each stream, keyed ``<stream>/<metric>``."""
        metrics = {}
        for stream in STREAM_FIELDS:
            stream_metrics = super().compute_metrics([r[stream] for r in results])
            metrics.update((f'{stream}/{name}', value)
                           for name, value in stream_metrics.items())
        return metrics
