"""Evaluation: clip@1 / video@1 metrics and accuracy against the number of test clips."""
from .clip_curve import (DumpError, accuracy_vs_num_clips, clip_scores_from_dump,
                         load_test_dump, plot_accuracy_vs_num_clips, uniform_clip_subset)
from .clip_video_accuracy import ClipVideoAccuracy, mean_class_accuracy
from .two_stream_metric import TwoStreamClipVideoAccuracy  # noqa: F401

__all__ = [
    'ClipVideoAccuracy', 'mean_class_accuracy', 'accuracy_vs_num_clips',
    'clip_scores_from_dump', 'plot_accuracy_vs_num_clips', 'uniform_clip_subset', 'DumpError',
    'load_test_dump'
]
