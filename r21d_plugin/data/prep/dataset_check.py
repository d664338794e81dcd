"""Decode every entry of an annotation file, in parallel, and report the bad ones.

The core of ``r21d-check-dataset``. Every frame of a video is decoded (with ``--decoder``,
``data.decoders``; choose the library your training config decodes with), so a file that
would fail in training fails here first. Decoders can crash in native code (decord
segfaults on some truncated AVI files) or hang: each worker is a separate process, a crash
marks the entry it was decoding as bad instead of ending the check, and a decoder call that
takes longer than ``decode_timeout`` fails its entry (``isolated_pool``).
"""
import os.path as osp
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence, Tuple

from tqdm import tqdm

from ..annotations import parse_rawframe_line, parse_video_line, read_annotation
from ..samples import local_file_problem
from ..decoders import DEFAULT_DECODE_TIMEOUT, Decoder, open_reader, resolve_decoder
from ...engine.checkpoint import atomic_write
from .isolated_pool import EntryProblem, map_isolated

#: Frames decoded per decoder call: bounds memory for long videos.
DECODE_BATCH = 64


@dataclass(frozen=True)
class EntryCheck:
    """The verdict on one annotation line; ``problem`` is None for a good entry."""

    lineno: int
    text: str
    source: Optional[str]
    problem: Optional[str]
    num_frames: Optional[int] = None


def decode_video(path: str, decoder: Decoder = 'auto',
                 timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT) -> int:
    """Decode every frame of ``path`` with ``decoder``; return the frame count.

    Raises:
        EntryProblem: the file is missing or empty.
        VideoReadError: it is not a readable video, or a frame does not decode (its
            ``DecodeTimeout``: a decoder call took longer than ``timeout`` seconds).
    """
    problem = local_file_problem(path)
    if problem is not None:
        raise EntryProblem(problem)
    reader = open_reader(path, decoder, timeout)
    num_frames = len(reader)
    for start in range(0, num_frames, DECODE_BATCH):
        reader.read(range(start, min(start + DECODE_BATCH, num_frames)))
    reader.close()
    return num_frames


def decode_frame_dir(frame_dir: str, total_frames: int, first_index: int, modality: str,
                     filename_tmpl: str) -> int:
    """Decode every frame image a rawframe entry names; return their number.

    Raises:
        EntryProblem: a frame file is missing or does not decode as an image.
    """
    import cv2
    if not osp.isdir(frame_dir):
        raise EntryProblem('frame directory not found')
    for index in range(first_index, first_index + total_frames):
        names = ([filename_tmpl.format(index)] if modality == 'RGB' else
                 [filename_tmpl.format(axis, index) for axis in ('x', 'y')])
        for name in names:
            path = osp.join(frame_dir, name)
            problem = local_file_problem(path)
            if problem is None and cv2.imread(path, cv2.IMREAD_UNCHANGED) is None:
                problem = 'not a decodable image'
            if problem is not None:
                raise EntryProblem(f'{name}: {problem} (the entry declares {total_frames} '
                                 f'frames from index {first_index})')
    return total_frames


def check_dataset(ann_file: str, data_root: str, workers: int = 4, rawframes: bool = False,
                  num_classes: Optional[int] = None, multi_class: bool = False,
                  min_frames: int = 1, delimiter: str = ' ', with_offset: bool = False,
                  modality: str = 'RGB', filename_tmpl: Optional[str] = None,
                  start_index: int = 1, progress: bool = True, decoder: Decoder = 'auto',
                  decode_timeout: Optional[float] = DEFAULT_DECODE_TIMEOUT
                  ) -> List[EntryCheck]:
    """Check every line of ``ann_file``: its syntax and labels, then its file(s), decoded.

    Args:
        ann_file: MMAction2 annotation file (VideoDataset format, or RawframeDataset format
            with ``rawframes=True``).
        data_root: Directory the paths of the annotation are relative to.
        workers: Decoding processes.
        rawframes: Entries are frame directories (``<dir> <total_frames> <label>``).
        num_classes: Labels must lie in ``0..num_classes-1`` (unchecked upper bound if None).
        multi_class: Lines may carry several labels.
        min_frames: Fewer decodable frames is a problem (use the span of one clip:
            ``(clip_len - 1) * frame_interval + 1``).
        delimiter: Field delimiter of a video annotation.
        with_offset: Rawframe lines carry ``<offset> <total_frames>``.
        modality: ``'RGB'`` or ``'Flow'`` (x/y frame images) for rawframes.
        filename_tmpl: Frame file name template; defaults to MMAction2's
            (``img_{:05}.jpg`` for RGB, ``{}_{:05d}.jpg`` for flow).
        start_index: Index of the first frame file of a rawframe directory.
        progress: Show a tqdm bar.
        decoder: The video decoder (``data.decoders``: ``auto``, ``pyav``, ``decord``,
            ``torchcodec``).
        decode_timeout: Seconds a decoder call may take before its entry fails as hung
            (None: no limit).

    Returns:
        One EntryCheck per non-blank line, in file order.
    """
    if rawframes:
        parse = partial(parse_rawframe_line, with_offset=with_offset, multi_class=multi_class,
                        num_classes=num_classes)
        tmpl = filename_tmpl or ('img_{:05}.jpg' if modality == 'RGB' else '{}_{:05d}.jpg')
    else:
        parse = partial(parse_video_line, delimiter=delimiter, multi_class=multi_class,
                        num_classes=num_classes)
    lines = list(read_annotation(ann_file, parse))
    checks = {line.lineno: EntryCheck(line.lineno, line.text, None, line.error)
              for line in lines if line.error is not None}
    valid = [line for line in lines if line.error is None]
    if rawframes:
        sources = [osp.join(data_root, line.info['frame_dir']) for line in valid]
        function = _RawframeDecoder(modality, tmpl, start_index)
        arguments = [(source, line.info['total_frames'], line.info.get('offset', 0))
                     for source, line in zip(sources, valid)]
    else:
        sources = [osp.join(data_root, line.info['filename']) for line in valid]
        function = partial(decode_video, decoder=resolve_decoder(decoder),
                           timeout=decode_timeout)
        arguments = sources
    bar = tqdm(total=len(arguments), desc='Decoding', unit='entry', disable=not progress)
    for index, num_frames, problem in map_isolated(function, arguments, workers):
        if problem is None and num_frames < min_frames:
            problem = f'{num_frames} frames, fewer than --min-frames {min_frames}'
        line = valid[index]
        checks[line.lineno] = EntryCheck(line.lineno, line.text, sources[index], problem,
                                         num_frames)
        bar.update()
    bar.close()
    return [checks[lineno] for lineno in sorted(checks)]


class _RawframeDecoder:
    """Picklable ``(frame_dir, total_frames, offset) -> frame count`` for the workers."""

    def __init__(self, modality: str, filename_tmpl: str, start_index: int) -> None:
        self.modality = modality
        self.filename_tmpl = filename_tmpl
        self.start_index = start_index

    def __call__(self, argument: Tuple[str, int, int]) -> int:
        frame_dir, total_frames, offset = argument
        return decode_frame_dir(frame_dir, total_frames, self.start_index + offset,
                                self.modality, self.filename_tmpl)


def format_report(ann_file: str, checks: Sequence[EntryCheck]) -> str:
    """One ``ann_file:line: path: problem`` per bad entry, then a summary line."""
    bad = [check for check in checks if check.problem is not None]
    lines = [f'{ann_file}:{check.lineno}: {check.source}: {check.problem}' if check.source
             else f'{ann_file}:{check.lineno}: {check.problem}: {check.text.strip()!r}'
             for check in bad]
    lines.append(f'{len(bad)} bad of {len(checks)} entries in {ann_file}')
    return '\n'.join(lines)


def write_clean_annotation(checks: Sequence[EntryCheck], out_file: str) -> int:
    """Write the good entries' lines, unchanged and in order; return how many."""
    good = [check.text.rstrip('\n') for check in checks if check.problem is None]
    atomic_write(out_file, ''.join(f'{text}\n' for text in good))
    return len(good)


__all__ = ['EntryCheck', 'EntryProblem', 'check_dataset', 'decode_video', 'decode_frame_dir',
           'format_report', 'write_clean_annotation']
