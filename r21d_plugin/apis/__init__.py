"""The use side: run the paper's networks on videos (predict, timelines, features, export).

``video`` reads a video as a stream of clips in bounded memory (the window rule);
``clip_pipeline`` applies a config's test preprocessing to those clips; ``features`` turns
every window of a video (or of every video of a dataset) into features of one layer.
"""
from .clip_pipeline import ClipPipeline
from .features import FeatureExtractor, extract_features, extract_video_features
from .video import (Video, VideoInfo, VideoReadError, open_video, window_frames, window_span,
                    window_starts)

__all__ = ['ClipPipeline', 'FeatureExtractor', 'Video', 'VideoInfo', 'VideoReadError',
           'extract_features', 'extract_video_features', 'open_video', 'window_frames',
           'window_span', 'window_starts']
