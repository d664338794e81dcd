"""The use side: run the paper's networks on videos (predict, timelines, features, export).

``video`` reads a video as a stream of clips in bounded memory (the window rule);
``clip_pipeline`` applies a config's test preprocessing to those clips.
"""
from .clip_pipeline import ClipPipeline
from .video import (Video, VideoInfo, VideoReadError, open_video, window_frames, window_span,
                    window_starts)

__all__ = ['ClipPipeline', 'Video', 'VideoInfo', 'VideoReadError', 'open_video',
           'window_frames', 'window_span', 'window_starts']
