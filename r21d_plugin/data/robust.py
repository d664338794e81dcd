"""Datasets that name the file and annotation line of every bad sample, with an opt-in skip policy.

MMAction2's ``VideoDataset`` and ``RawframeDataset`` fail on bad data with messages that name
neither the file nor the line (``ValueError: too many values to unpack``, decord's
``Error reading 0 bytes``), and silently loop the frames of a video shorter than one clip.
``RobustVideoDataset`` and ``RobustRawframeDataset`` are drop-in replacements:

* the annotation file is validated when it is loaded; every malformed line and every label
  out of range is reported as ``ann_file:line: reason`` in one :class:`AnnotationError`;
* every sample is loaded under a guard: a missing or empty file, a decoder failure (zero-byte,
  truncated or non-video files), a missing frame file (RGB or flow frames of a rawframe
  dataset) or a video shorter than one clip raises :class:`BadSampleError` naming the
  annotation line, the file and the reason;
* with ``skip_bad_samples=True`` (training sets only) a bad sample is logged by name, counted
  and replaced by a random other sample (mmengine's ``max_refetch`` mechanism). The skip limit
  measures the dataset, not the luck of the draws: a file found bad once is known bad (never
  decoded again, never counted twice), and the fraction judged is *distinct bad files over
  distinct files tried*. It is judged once ``min(skip_limit_min_seen, distinct files listed)``
  distinct files have been tried, and again at every new bad file after that; past
  ``max_skip_fraction`` :class:`SkipLimitError` stops the run. The record of which files were
  tried and which were bad lives in shared memory created with the dataset, so the main process
  and all its DataLoader workers (persistent or not, every epoch) count together: the count is
  exact for one rank. Ranks count separately (each over the files its own loading processes
  tried; redraws may pick any file), so in a distributed run the limit stops the run as soon as
  one rank's count passes it.
"""
import faulthandler
import os.path as osp
from typing import Hashable, List, NamedTuple, Optional

import torch
from mmaction.datasets import RawframeDataset, VideoDataset
from mmaction.registry import DATASETS
from mmengine.dist import get_dist_info
from mmengine.fileio import exists
from mmengine.logging import MMLogger
from torch.utils.data import get_worker_info

from .annotations import (AnnotationLine, annotation_error, parse_rawframe_line, parse_video_line,
                          read_annotation)
from .samples import (SampleProblem, call_labelled, check_loading_state, local_file_problem,
                      step_failure)


class BadSampleError(RuntimeError):
    """A sample cannot be loaded; the message names the annotation line, the file and why."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f'{location}: {reason}')
        self.location = location
        self.reason = reason


class SkipLimitError(RuntimeError):
    """More than ``max_skip_fraction`` of the distinct files tried were bad."""


#: States of a distinct file in the skip record.
_UNTRIED, _GOOD, _BAD = 0, 1, 2


class SkipCounts(NamedTuple):
    """The skip record of one rank: distinct files tried, found bad, and listed."""

    tried: int
    bad: int
    listed: int


class _RobustLoading:
    """The load-time validation, loading guard and skip policy shared by the robust datasets."""

    #: data_info key holding the path of a sample's file or frame directory.
    source_key: str
    #: data_prefix key under which that path is rooted.
    prefix_key: str
    #: What one distinct sample source is called in messages (plural).
    source_noun: str

    def __init__(self, *args, skip_bad_samples: bool = False, max_skip_fraction: float = 0.01,
                 skip_limit_min_seen: int = 100, allow_short_videos: bool = False,
                 **kwargs) -> None:
        """The robustness options (``_ROBUST_ARGS``), then the MMAction2 dataset's own."""
        if not 0 <= max_skip_fraction <= 1:
            raise ValueError(f'max_skip_fraction must lie in [0, 1], got {max_skip_fraction}')
        if skip_limit_min_seen < 1:
            raise ValueError(f'skip_limit_min_seen must be at least 1, got {skip_limit_min_seen}')
        self.skip_bad_samples = skip_bad_samples
        self.max_skip_fraction = max_skip_fraction
        self.skip_limit_min_seen = skip_limit_min_seen
        self.allow_short_videos = allow_short_videos
        # One byte per distinct source (_UNTRIED/_GOOD/_BAD), in shared memory so that the
        # DataLoader workers started from this process write to the same record.
        self._source_states: Optional[torch.Tensor] = None
        self._judged_once = False  # this process has seen the judging threshold reached
        self._rank, self._world_size = 0, 1
        super().__init__(*args, **kwargs)

    def _parse_line(self, text: str) -> dict:
        raise NotImplementedError

    def _source_identity(self, info: dict) -> Hashable:
        """What makes two entries the same source (a bad one is bad for both)."""
        return info[self.source_key]

    def load_data_list(self) -> List[dict]:
        """Load the annotation file; raise one AnnotationError naming every bad line.

        Besides malformed lines, a source listed twice with different labels is an error
        (one of the labels would be silently wrong); listed twice with the same label it
        is kept (MMAction2 does: it is drawn twice as often) and reported in a warning.
        """
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} not found')
        lines = list(read_annotation(self.ann_file, self._parse_line))
        bad = [line for line in lines if line.error is not None]
        prefix = self.data_prefix.get(self.prefix_key)
        data_list, first_of, repeats = [], {}, []
        for line in lines:
            if line.error is not None:
                continue
            info = dict(line.info, ann_lineno=line.lineno)
            if prefix is not None:
                info[self.source_key] = osp.join(prefix, info[self.source_key])
            identity = self._source_identity(line.info)
            first = first_of.setdefault(identity, (len(first_of), line))[1]
            if first is not line:
                if first.info['label'] != line.info['label']:
                    bad.append(AnnotationLine(
                        line.lineno, line.text, None,
                        f'listed on line {first.lineno} with label {first.info["label"]}, '
                        f'here with label {line.info["label"]} (one source, one label; '
                        'set multi_class=True for multi-label data)'))
                    continue
                repeats.append((line.lineno, first.lineno))
            info['source_index'] = first_of[identity][0]
            data_list.append(info)
        if bad:
            raise annotation_error(self.ann_file, bad)
        if repeats:
            shown = ', '.join(f'line {line} repeats line {first}' for line, first in repeats[:5])
            MMLogger.get_current_instance().warning(
                f'{self.ann_file}: {len(repeats)} line(s) repeat an earlier entry ({shown}'
                f'{", ..." if len(repeats) > 5 else ""}); each listing is a sample of its own, '
                'so those sources are drawn more often')
        if self.skip_bad_samples and not self.test_mode:
            self._source_states = torch.zeros(len(first_of), dtype=torch.uint8).share_memory_()
            self._rank, self._world_size = get_dist_info()
        return data_list

    @property
    def skip_counts(self) -> SkipCounts:
        """Distinct sources tried and found bad by this rank's loading processes, and listed."""
        states = self._source_states
        if states is None:
            return SkipCounts(0, 0, 0)
        untried, _, bad = torch.bincount(states, minlength=3).tolist()
        return SkipCounts(len(states) - untried, bad, len(states))

    def _location(self, data_info: dict) -> str:
        return f'{self.ann_file}:{data_info["ann_lineno"]}: {data_info[self.source_key]}'

    def _check_source(self, data_info: dict) -> None:
        raise NotImplementedError

    def _load(self, results: dict):
        """Run the pipeline step by step, checking what each step produced."""
        self._check_source(results)
        for transform in self.pipeline.transforms:
            try:
                results = transform(results)
            except Exception as exc:
                raise SampleProblem(step_failure(type(transform).__name__, exc)) from exc
            if results is None:
                return None
            check_loading_state(results, self.allow_short_videos)
        return results

    def prepare_data(self, idx: int):
        """The idx-th sample through the pipeline, or None when the skip policy drops it.

        Raises:
            BadSampleError: the sample is bad and skipping is off (or this is a test set).
            SkipLimitError: skipping is on and too many distinct sources were bad.
        """
        if not faulthandler.is_enabled():
            faulthandler.enable()
        data_info = self.get_data_info(idx)
        skipping = self._source_states is not None
        source = data_info['source_index']
        if skipping and self._source_states[source] == _BAD:
            return None  # known bad: not decoded again, not counted again
        location = self._location(data_info)
        try:
            results = call_labelled(f'<loading {location}>', self._load, data_info)
        except SampleProblem as exc:
            error = BadSampleError(location, str(exc))
            if not skipping:
                raise error from exc.__cause__
            self._record(source, error)
            return None
        if skipping:
            self._record(source, None)
        return results

    def _record(self, source: int, error: Optional[BadSampleError]) -> None:
        """Mark a source good or bad, log a new bad one, and judge the limit when due."""
        states = self._source_states
        previous, state = int(states[source]), _GOOD if error is None else _BAD
        if previous == state:
            return
        states[source] = state
        if error is None and self._judged_once:
            return  # past the threshold the fraction can only rise at a bad source
        counts = self.skip_counts
        if error is not None:
            MMLogger.get_current_instance().warning(
                f'Skipped bad sample ({counts.bad} of {counts.tried} distinct '
                f'{self.source_noun} tried by {self._scope()} bad so far): {error}')
        if counts.tried < min(self.skip_limit_min_seen, counts.listed):
            return
        self._judged_once = True
        fraction = counts.bad / counts.tried
        if fraction > self.max_skip_fraction:
            last = f' Last: {error}.' if error is not None else ''
            raise SkipLimitError(
                f'{counts.bad} of {counts.tried} distinct {self.source_noun} bad '
                f'({fraction:.1%}), more than max_skip_fraction={self.max_skip_fraction}: '
                f'counted over the {self.source_noun} that {self._scope()} tried '
                f'({counts.tried} of the {counts.listed} listed in {self.ann_file}), each '
                f'bad one once however often it was drawn.{last} '
                f'List them all with: r21d-check-dataset {self.ann_file} '
                f'{self.data_prefix.get(self.prefix_key) or "."}{self._check_options()} '
                '(from a checkout: python tools/check_dataset.py, same arguments)')

    def _scope(self) -> str:
        """Whose loading processes share the skip record, for messages."""
        where = 'the loading processes' if get_worker_info() is None else 'the DataLoader workers'
        if self._world_size > 1:
            return f'{where} of rank {self._rank} (of {self._world_size})'
        return f'{where} of this run'

    def _check_options(self) -> str:
        """r21d-check-dataset options for this dataset's kind of annotation."""
        return ''


_ROBUST_ARGS = """
        skip_bad_samples (bool): Replace a bad training sample by a random other one (logged
            and counted) instead of raising. Never applies in test mode, where a replaced
            sample would change the metric. Defaults to False.
        max_skip_fraction (float): With ``skip_bad_samples``, stop with SkipLimitError once
            more than this fraction of the distinct sources (files, or frame directories)
            tried were bad; each bad source counts once, however often it was drawn.
            Defaults to 0.01.
        skip_limit_min_seen (int): Distinct sources that must have been tried before the
            fraction is judged (or all those listed, if fewer). Defaults to 100.
        allow_short_videos (bool): Accept samples with fewer frames than one clip spans
            (MMAction2 then loops their frames) instead of treating them as bad.
            Defaults to False.
"""


@DATASETS.register_module()
class RobustVideoDataset(_RobustLoading, VideoDataset):
    __doc__ = f"""MMAction2's VideoDataset with file:line errors and an opt-in skip policy.

    Takes every argument of ``VideoDataset``; ``num_classes`` (optional for single-label
    data) enables the label range check. Each data_info also carries ``ann_lineno``.

    Args:{_ROBUST_ARGS}"""

    source_key = 'filename'
    prefix_key = 'video'
    source_noun = 'files'

    def _parse_line(self, text: str) -> dict:
        return parse_video_line(text, self.delimiter, self.multi_class, self.num_classes,
                                require_label=not self.test_mode)

    def _check_source(self, data_info: dict) -> None:
        problem = local_file_problem(data_info['filename'])
        if problem is not None:
            raise SampleProblem(problem)


@DATASETS.register_module()
class RobustRawframeDataset(_RobustLoading, RawframeDataset):
    __doc__ = f"""MMAction2's RawframeDataset with file:line errors and an opt-in skip policy.

    Takes every argument of ``RawframeDataset``; ``num_classes`` enables the label range
    check. A frame file missing from a frame directory (RGB, or the x/y images of a flow
    dataset) is a bad sample naming the missing file.

    Args:{_ROBUST_ARGS}"""

    source_key = 'frame_dir'
    prefix_key = 'img'
    source_noun = 'frame directories'

    def _parse_line(self, text: str) -> dict:
        return parse_rawframe_line(text, self.with_offset, self.multi_class, self.num_classes,
                                   require_label=not self.test_mode)

    def _source_identity(self, info: dict) -> Hashable:
        # Segments of one directory (with_offset) are separate sources.
        return info['frame_dir'], info.get('offset', 0), info['total_frames']

    def _check_options(self) -> str:
        return (f' --rawframes --modality {self.modality} --filename-tmpl '
                f'{self.filename_tmpl!r} --start-index {self.start_index}'
                + (' --with-offset' if self.with_offset else ''))

    def _check_source(self, data_info: dict) -> None:
        frame_dir = data_info['frame_dir']
        if '://' not in frame_dir and not osp.isdir(frame_dir):
            raise SampleProblem('frame directory not found')


__all__ = ['BadSampleError', 'SkipLimitError', 'SkipCounts', 'RobustVideoDataset',
           'RobustRawframeDataset']
