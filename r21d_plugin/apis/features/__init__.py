"""Clip features for every window of a video, and for every video of a dataset.

R(2+1)D's most common use outside recognition is as a feature extractor: temporal action
localization, anomaly detection, retrieval and captioning start from per-window features.

**Windows.** The window rule of ``video`` (its module docstring): windows of ``clip_len``
frames ``frame_interval`` apart start every ``stride`` frames while the whole window lies
inside the video; a video shorter than one window gives one window whose frames loop
(``index % num_frames``, as MMAction2's test sampling fills short videos). Defaults: the
config's clip length and frame interval, and ``stride = clip_len * frame_interval`` (windows
tile the video). Each window goes through the config's test preprocessing (its steps after
decoding: resize, one center crop, format), then the model's own data preprocessor
(normalisation), then the backbone up to the chosen stage.

**Layers.** ``pool5``: the conv5 output averaged over time and space (the input of the
paper's fc layer; 512 channels for the paper's networks). ``conv2`` .. ``conv5``: that stage's
output, averaged over time and space as well, or with ``keep_map`` its whole
``C x T' x H' x W'`` map. Stages after the chosen one are not computed.

**Two streams.** With a flow model (a flow config's test pipeline computes Farneback flow on
the fly, as the flow stream was trained), a window spans ``clip_len + 1`` frames: the RGB
stream sees its first ``clip_len`` frames and the flow stream the ``clip_len`` flows between
all of them, as ``two_stream_pipeline`` pairs them. The two features are concatenated along
the channels: RGB first, then flow (``FeatureExtractor.layout``).

**Batches.** A video's windows go through the networks ``batch_size`` at a time, never
mixed with another video's: its features are the same, bit for bit, whatever the number of
loading workers or ranks, on a resumed run, and from ``extract_video_features``.

**Output** (``extract_features``): per video ``OUT/<path relative to SRC without its
extension>.npy``, float32 ``[num_windows, C]`` (or ``[num_windows, C, T', H', W']`` with
``keep_map``), written under a temporary name and renamed when complete; ``OUT/index.csv``
with one row per finished video (``INDEX_COLUMNS``): window ``k`` covers the ``span``
frames from frame ``first_start + k * stride``, starting ``start / fps`` seconds in; ``OUT/settings.json``, the settings
the features were made with (a rerun with other settings is refused); ``OUT/failed.txt``,
the videos that failed and why (only when some did).
"""
from ...engine.device import AMP_DTYPES
from .driver import DISTRIBUTED_TIMEOUT_S, ExtractionReport, extract_features
from .extractor import LAYER_STAGES, FeatureExtractor, WindowPreparer, extract_video_features
from .inputs import VideoJob, list_videos
from .store import FAILED_FILE, INDEX_COLUMNS, INDEX_FILE, SETTINGS_FILE, OutputInUseError

__all__ = ['AMP_DTYPES', 'DISTRIBUTED_TIMEOUT_S', 'FAILED_FILE', 'INDEX_COLUMNS', 'INDEX_FILE',
           'LAYER_STAGES', 'OutputInUseError', 'SETTINGS_FILE', 'ExtractionReport', 'FeatureExtractor', 'VideoJob',
           'WindowPreparer', 'extract_features', 'extract_video_features', 'list_videos']
