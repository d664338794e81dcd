"""The use side: run the paper's networks on videos (predict, timelines, features, export).

``video`` reads a video as a stream of clips in bounded memory (the window rule);
``clip_pipeline`` applies a config's test preprocessing to those clips; ``inference`` loads a
recognizer and runs it on videos (``predict``: the config's multi-clip test, ``timeline``:
every window of a long video); ``visualization`` draws the results; ``inputs`` expands
command-line inputs into videos; ``throughput`` measures their speed and memory; ``export``
writes a recognizer as a verified ONNX or TorchScript file; ``features`` turns every window
of a video (or of every video of a dataset) into features of one layer.
"""
from .clip_pipeline import ClipPipeline
from .export import ExportError, ExportResult, export_recognizer, runtime_throughput
from .features import FeatureExtractor, extract_features, extract_video_features
from .inference import (Prediction, RecognizerLoadError, StreamScores, Timeline,
                        VideoRecognizer, load_recognizer, predict, timeline)
from .inputs import VideoItem, collect_videos
from .video import (Video, VideoInfo, VideoReadError, open_video, window_frames, window_span,
                    window_starts)
from .visualization import plot_timeline, write_labelled_video

__all__ = ['ClipPipeline', 'Video', 'VideoInfo', 'VideoReadError', 'open_video',
           'window_frames', 'window_span', 'window_starts', 'Prediction',
           'RecognizerLoadError', 'StreamScores', 'Timeline', 'VideoRecognizer',
           'load_recognizer', 'predict', 'timeline', 'VideoItem', 'collect_videos',
           'plot_timeline', 'write_labelled_video', 'ExportError', 'ExportResult',
           'export_recognizer', 'runtime_throughput', 'FeatureExtractor', 'extract_features',
           'extract_video_features']
