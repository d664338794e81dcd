"""The use side: run the paper's networks on videos (predict, timelines, features, export).

``video`` reads a video as a stream of clips in bounded memory (the window rule);
``clip_pipeline`` applies a config's test preprocessing to those clips; ``loading`` is the
one way a network is loaded (``load_config``: names or paths; ``load_model``: a checkpoint
checked against its config; ``load_recognizer``: ready for videos); ``inference`` runs it
on videos (``predict``: the config's multi-clip test, ``timeline``: every window of a long
video; ``video_workers``: videos decoded in loading processes, in input order);
``visualization`` draws the results; ``inputs`` expands command-line inputs into
videos; ``export`` writes a recognizer as a verified ONNX or TorchScript file; ``features``
turns every window of a video (or of every video of a dataset) into features of one layer;
``runtimes`` runs an ONNX export in ONNX Runtime or OpenVINO.
Their speed is measured in ``r21d_plugin.benchmark``.
"""
from .clip_pipeline import ClipPipeline
from .export import ExportError, ExportResult, export_recognizer
from .features import FeatureExtractor, extract_features, extract_video_features
from .inference import Prediction, StreamScores, Timeline, iter_predict, predict, timeline
from .inputs import VideoItem, collect_videos
from .loading import (RecognizerLoadError, VideoRecognizer, load_config, load_model,
                      load_recognizer)
from .video import (Video, VideoInfo, VideoReadError, open_video, window_frames, window_span,
                    window_starts)
from .visualization import plot_timeline, write_labelled_video

__all__ = ['ClipPipeline', 'Video', 'VideoInfo', 'VideoReadError', 'open_video',
           'window_frames', 'window_span', 'window_starts', 'Prediction',
           'RecognizerLoadError', 'StreamScores', 'Timeline', 'VideoRecognizer', 'load_config',
           'load_model', 'load_recognizer', 'iter_predict', 'predict', 'timeline', 'VideoItem',
           'collect_videos', 'plot_timeline', 'write_labelled_video', 'ExportError',
           'ExportResult', 'export_recognizer', 'FeatureExtractor', 'extract_features',
           'extract_video_features']
