"""A video's test clips, decoded once and prepared for ``predict`` (``ClipPreparer``).

It holds the streams' test pipelines, the config's ``SampleFrames`` step and how videos are
decoded (the decoder, its timeout, the streams' common resize applied to each frame as it
is decoded), not the networks, so loading workers (``video_workers``) run it while the main
process runs the networks on what it returns (``PreparedVideo``).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ..data.decoders import DEFAULT_DECODE_TIMEOUT, Decoder, resolve_decoder
from .clip_pipeline import ClipPipeline, _step_type, shared_frame_transform
from .video import Video, VideoInfo, VideoSource, window_frames, window_span

#: What ``predict`` and ``timeline`` take as one video.
VideoInput = Union[VideoSource, Video]


class ClipPreparer:
    """The CPU half of ``predict``: a video's test clips, decoded once by ``decoder`` (each
    frame resized while decoding by the streams' common resize) and prepared by each
    stream's pipeline. It holds no model, so loading workers run it (``video_workers``)."""

    def __init__(self, name: str, test_pipeline: List[dict],
                 pipelines: Dict[str, ClipPipeline], frame_interval: int,
                 decoder: Decoder = 'auto',
                 decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> None:
        self.name, self.pipelines, self.frame_interval = name, pipelines, frame_interval
        # an unknown or missing decoder fails here, before any video (DecoderUnavailableError)
        self.decoder, self.decode_timeout = resolve_decoder(decoder), decode_timeout
        self.sampler = next(step for step in test_pipeline if _step_type(step) == 'SampleFrames')
        # One read serves both: the flow stream's L+1 frames, the RGB stream's first L.
        self.frames_per_clip = max(p.frames_per_clip for p in pipelines.values())
        # the streams' common resize runs on each frame as it is decoded
        self.frame_transform = shared_frame_transform(list(pipelines.values()))

    def open(self, source: VideoInput) -> Video:
        """``source`` as a ``Video`` resizing its frames while decoding (a ``Video`` given
        is used as it is)."""
        if isinstance(source, Video):
            return source
        return Video(source, decoder=self.decoder, timeout=self.decode_timeout,
                     frame_transform=self.frame_transform)

    def resized(self, video: Video) -> bool:
        """Whether ``video``'s frames went through the streams' resize already."""
        return (video.frame_transform is not None
                and video.frame_transform == self.frame_transform)

    def pack(self, name: str, clips: Sequence[np.ndarray], resized: bool = False) -> dict:
        """One sample of ``clips`` for a stream: each clip is prepared on its own (so only
        its resized crops are kept) and the views are put in the order the config's
        pipeline makes for all clips at once (crop by crop); ``resized``: their frames went
        through ``frame_transform`` already."""
        pipeline = self.pipelines[name]
        packed = [pipeline([clip[:pipeline.frames_per_clip]], resized) for clip in clips]
        views = torch.stack([sample['inputs'] for sample in packed], dim=1)
        data_sample = packed[0]['data_samples']
        data_sample.set_metainfo(dict(num_clips=len(clips)))
        return dict(inputs=views.flatten(0, 1), data_samples=data_sample)

    def test_clips(self, num_frames: int) -> np.ndarray:
        """(num_clips, frames_per_clip) frame indices of the config's test clips: its own
        ``SampleFrames`` (test mode) decides them, so they are MMAction2's test clips."""
        from mmaction.registry import TRANSFORMS

        sampler = TRANSFORMS.build(dict(self.sampler, clip_len=self.frames_per_clip,
                                        test_mode=True))
        results = sampler(dict(total_frames=num_frames, start_index=0))
        clips = np.asarray(results['frame_inds']).reshape(-1, self.frames_per_clip)
        for clip in clips:
            if not np.array_equal(clip, window_frames(int(clip[0]), num_frames,
                                                      self.frames_per_clip,
                                                      sampler.frame_interval)):
                raise ValueError(f'{self.name}: SampleFrames {self.sampler} picks frames '
                                 'outside the window rule (r21d_plugin.apis.video); use its '
                                 'default options')
        return clips

    def __call__(self, source: VideoInput) -> 'PreparedVideo':
        # The first (RGB) stream's test clips, L+1 frames long with a flow stream, as
        # two_stream_pipeline samples them.
        video = self.open(source)
        clip_frames = self.test_clips(video.num_frames)
        clips = [clip for _, clip in video.windows(self.frames_per_clip, 1,
                                                   self.frame_interval,
                                                   starts=clip_frames[:, 0].tolist())]
        span = window_span(self.frames_per_clip, self.frame_interval)
        resized = self.resized(video)
        return PreparedVideo(video.name, video.info, clip_frames, video.num_frames < span,
                             {name: self.pack(name, clips, resized) for name in self.pipelines})


@dataclass
class PreparedVideo:
    """A video's test clips, ready for the networks (what a loading worker hands back)."""

    name: str
    info: VideoInfo
    clip_frames: np.ndarray
    looped: bool
    samples: Dict[str, dict]
