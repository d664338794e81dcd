"""The use side: run the paper's networks on videos (predict, timelines, features, export).

``video`` reads a video as a stream of clips in bounded memory (the window rule);
``clip_pipeline`` applies a config's test preprocessing to those clips; ``export`` writes a
recognizer as a verified ONNX or TorchScript file.
"""
from .clip_pipeline import ClipPipeline
from .export import ExportError, ExportResult, export_recognizer, runtime_throughput
from .video import (Video, VideoInfo, VideoReadError, open_video, window_frames, window_span,
                    window_starts)

__all__ = ['ClipPipeline', 'ExportError', 'ExportResult', 'export_recognizer',
           'runtime_throughput', 'Video', 'VideoInfo', 'VideoReadError', 'open_video',
           'window_frames', 'window_span', 'window_starts']
