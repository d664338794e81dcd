"""The use side's decoders: per backend, decoding alone and feature extraction with it.

For each decoder (every installed CPU backend by default; ``torchcodec-cuda`` where asked
for, on a GPU), on the use side's generated video and a use config:

* decoding alone (timed after one untimed pass): the config's windows (its clip length, windows tiling the video) read as
  ``timeline`` and feature extraction read them, each frame resized by the config's test
  resize as it is decoded (``ClipPipeline.frame_transform``): windows/s;
* feature extraction with that decoder (``measure_extraction``: float32, no loading
  workers, so decoding, preprocessing and the network take turns): windows/s and the
  share of its time spent decoding.
"""
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from ..apis.clip_pipeline import ClipPipeline, config_test_pipeline
from ..apis.video import Video, default_stride
from ..data.decoders import AUTO_ORDER, DECODERS
from .use_speed import measure_extraction


def default_decoders(device: str) -> List[str]:
    """The installed backends of ``auto``'s order, and torchcodec's CUDA decoding on a GPU."""
    names = [name for name in AUTO_ORDER if DECODERS[name].available()]
    if str(device).startswith('cuda') and DECODERS['torchcodec-cuda'].available():
        names.append('torchcodec-cuda')
    return names


def decode_windows_per_s(config: str, video: str, decoder: str) -> Dict[str, float]:
    """Windows per second of decoding alone ``video``'s windows of ``config`` (after one
    untimed pass: the library loaded, the file in the page cache)."""
    pipeline = ClipPipeline(config_test_pipeline(Config.fromfile(config)))
    length, interval = pipeline.frames_per_clip, pipeline.frame_interval

    def decode_all() -> int:
        opened = Video(video, decoder=decoder, frame_transform=pipeline.frame_transform)
        return sum(1 for _ in opened.windows(length, default_stride(length, interval),
                                             interval))

    decode_all()
    start = time.perf_counter()
    windows = decode_all()
    return dict(windows=windows, windows_per_s=windows / (time.perf_counter() - start))


def measure_decoders(config: str, video: str, device: str = 'cpu',
                     decoders: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    """One row per decoder (``default_decoders`` when None): ``decoder``, ``decode``
    (``decode_windows_per_s``) and ``extraction`` (``measure_extraction`` with it), or
    ``skipped`` with the reason where the backend does not import here."""
    rows = []
    for name in decoders or default_decoders(device):
        if not DECODERS[name].available():
            rows.append(dict(decoder=name, skipped=f'{DECODERS[name].module} does not import'))
            continue
        rows.append(dict(decoder=name, decode=decode_windows_per_s(config, video, name),
                         extraction=measure_extraction(config, video, device=device,
                                                       decoder=name)))
    return rows


def format_decoders(configs: Sequence[Dict[str, object]]) -> List[str]:
    """A markdown table of the ``decoders`` rows of each use config."""
    lines = ['', '| config | decoder | decoding alone, windows/s | extraction windows/s | '
             'decode share |', '|---|---|---|---|---|']
    for entry in configs:
        for row in entry.get('decoders', []):
            if 'skipped' in row:
                lines.append(f"| {entry['config']} | {row['decoder']} | not measured: "
                             f"{row['skipped']} | - | - |")
                continue
            extraction = row['extraction']
            lines.append(f"| {entry['config']} | {row['decoder']} | "
                         f"{row['decode']['windows_per_s']:.3g} | "
                         f"{extraction['windows_per_s']:.3g} | "
                         f"{100 * extraction['decode_share']:.0f}% |")
    return lines
