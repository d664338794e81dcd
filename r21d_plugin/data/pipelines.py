"""Pipelines derived from a base config's pipelines: other clips or crops, flow, two streams.

Configs call these on their base's pipelines (``_base_.train_pipeline`` ...), so a variant
restates only what differs and keeps every other step of the base recipe:

* ``with_clip_len`` / ``with_num_clips`` / ``with_three_crop``: other clip lengths, numbers
  of test clips, or three crops.
* ``data_settings``: a dataset base's pipelines and dataloaders with other clips, flow input
  or another official split, in one call (how the experiment configs vary one base per
  dataset).
* ``with_torchvision_transforms``: torchvision's resize and center crop (its weights' exact
  preprocessing) instead of MMAction2's.
* ``flow_pipeline``: each clip draws L+1 frames, goes through the RGB resize / crop / flip,
  then ``FarnebackFlow`` turns it into L flow frames (the paper's on-the-fly flow).
* ``two_stream_pipeline``: the same, but ``FarnebackFlow(keep_rgb=True)`` keeps the first L
  RGB frames of every clip beside its L flow frames, and both are packed
  (``inputs = dict(imgs=..., flow_imgs=...)``) for ``TwoStreamRecognizer``: both streams
  see the same temporal windows and the same crop of a video. Given ``flow_root``, the flow
  comes from ``tools/extract_flow.py`` instead (``LoadAlignedFlow``: the stored flow of the
  same frames, crop and flip), and the clips keep their L frames.
"""
import re
from typing import List, Mapping, Optional, Sequence, Tuple

#: ``PackActionInputs``' default meta keys (mmaction2 1.2).
PACK_META_KEYS = ('img_shape', 'img_key', 'video_id', 'timestamp')


def _step_type(step: dict) -> str:
    return step['type'] if isinstance(step['type'], str) else step['type'].__name__


def computes_flow(pipeline: Sequence[dict]) -> bool:
    """Whether a pipeline computes flow on the fly (``FarnebackFlow``)."""
    return any(_step_type(step) == 'FarnebackFlow' for step in pipeline)


def frames_drawn(clip_len: int, flow: bool) -> int:
    """Frames a clip draws for ``clip_len`` network frames: the rule for a flow stream,
    in one place: L+1 frames give L flow frames."""
    return clip_len + int(flow)


def network_clip_len(pipeline: Sequence[dict]) -> int:
    """Frames per clip the network sees in ``pipeline`` (its ``SampleFrames`` draws
    ``frames_drawn`` of them)."""
    return int(_sample_frames(pipeline)['clip_len']) - int(computes_flow(pipeline))


def _with_sampler(pipeline: Sequence[dict], **changes) -> List[dict]:
    types = [_step_type(step) for step in pipeline]
    if types.count('SampleFrames') != 1:
        raise ValueError(f'expected one SampleFrames step in the pipeline, found '
                         f'{types.count("SampleFrames")}: {types}')
    return [dict(step, **changes) if step_type == 'SampleFrames' else dict(step)
            for step, step_type in zip(pipeline, types)]


def with_clip_len(pipeline: Sequence[dict], clip_len: int) -> List[dict]:
    """The pipeline with clips of ``clip_len`` frames as the model sees them.

    ``SampleFrames`` draws ``clip_len`` consecutive frames, or ``clip_len + 1`` when the
    pipeline computes flow on the fly (``FarnebackFlow``: L+1 frames give L flow frames).
    """
    if isinstance(clip_len, bool) or not isinstance(clip_len, int) or clip_len < 1:
        raise ValueError(f'clip_len must be a positive integer, got {clip_len!r}')
    return _with_sampler(pipeline, clip_len=frames_drawn(clip_len, computes_flow(pipeline)))


def with_num_clips(pipeline: Sequence[dict], num_clips: int) -> List[dict]:
    """The pipeline drawing ``num_clips`` clips per video (uniformly spaced in test mode)."""
    if isinstance(num_clips, bool) or not isinstance(num_clips, int) or num_clips < 1:
        raise ValueError(f'num_clips must be a positive integer, got {num_clips!r}')
    return _with_sampler(pipeline, num_clips=num_clips)


def with_torchvision_transforms(pipeline: Sequence[dict]) -> List[dict]:
    """The pipeline with torchvision's ``Resize`` and ``CenterCrop`` arithmetic.

    ``Resize`` becomes ``TorchvisionResize`` and ``CenterCrop`` ``TorchvisionCenterCrop``
    (same sizes; ``r21d_plugin.data.torchvision_transforms`` says how they differ), so
    torchvision's weights see exactly the frames its ``VideoClassification`` transform makes.
    """
    types = [_step_type(step) for step in pipeline]
    if 'Resize' not in types or 'CenterCrop' not in types:
        raise ValueError(f'expected a Resize and a CenterCrop step, got {types}')
    steps = []
    for step, step_type in zip(pipeline, types):
        step = dict(step)
        if step_type in ('Resize', 'CenterCrop') and step.get('lazy'):
            raise ValueError(f'torchvision resizes and crops each frame, not lazily: {step}')
        if step_type == 'Resize':
            if step.get('interpolation', 'bilinear') != 'bilinear':
                raise ValueError(f'torchvision resizes bilinearly, got {step}')
            step = dict(type='TorchvisionResize', scale=step['scale'],
                        keep_ratio=step.get('keep_ratio', True))
        elif step_type == 'CenterCrop':
            step = dict(type='TorchvisionCenterCrop', crop_size=step['crop_size'])
        steps.append(step)
    return steps


def with_three_crop(pipeline: Sequence[dict], crop_size: int) -> List[dict]:
    """A test pipeline taking three square crops per clip instead of one center crop.

    MMAction2's ``ThreeCrop`` takes the left, center and right (or top, center, bottom)
    ``crop_size`` squares, so ``crop_size`` must be the short side of the resized frames
    (128 after the paper's 128x171 resize). ``PackActionInputs`` keeps ``num_clips`` in the
    metainfo, so ``MultiClipRecognizer3D`` averages each clip's crops into its clip score.
    """
    types = [_step_type(step) for step in pipeline]
    if types.count('CenterCrop') != 1 or types.count('PackActionInputs') != 1:
        raise ValueError(f'expected one CenterCrop and one PackActionInputs step, got {types}')
    steps = []
    for step, step_type in zip(pipeline, types):
        step = dict(step)
        if step_type == 'CenterCrop':
            step = dict(type='ThreeCrop', crop_size=crop_size)
        elif step_type == 'PackActionInputs':
            meta_keys = tuple(step.get('meta_keys', PACK_META_KEYS))
            if 'num_clips' not in meta_keys:
                step['meta_keys'] = meta_keys + ('num_clips', )
        steps.append(step)
    return steps

#: Input key of the flow clips in a two-stream sample (``TwoStreamRecognizer`` default).
FLOW_INPUTS_KEY = 'flow_imgs'


def _with_flow(rgb_pipeline: Sequence[dict], keep_rgb: bool,
               offline_flow: Optional[dict] = None) -> List[dict]:
    types = [_step_type(step) for step in rgb_pipeline]
    for required in ('SampleFrames', 'FormatShape', 'PackActionInputs'):
        if types.count(required) != 1:
            raise ValueError(f'expected one {required} step in the RGB pipeline, found '
                             f'{types.count(required)}: {types}')
    if 'FarnebackFlow' in types:
        raise ValueError('the pipeline already computes flow (FarnebackFlow); pass the RGB '
                         'pipeline')
    steps = []
    for step, step_type in zip(rgb_pipeline, types):
        step = dict(step)
        if step_type == 'SampleFrames' and offline_flow is None:
            step['clip_len'] = frames_drawn(step['clip_len'], flow=True)
        elif step_type == 'FormatShape':
            steps.append(offline_flow or dict(type='FarnebackFlow', keep_rgb=keep_rgb))
            if keep_rgb:
                steps.append(step)
                step = dict(type='KeyMapper', mapping=dict(imgs=FLOW_INPUTS_KEY),
                            auto_remap=True, transforms=[dict(step)])
        elif step_type == 'PackActionInputs' and keep_rgb:
            step['collect_keys'] = ('imgs', FLOW_INPUTS_KEY)
        steps.append(step)
    return steps


def flow_pipeline(rgb_pipeline: Sequence[dict]) -> List[dict]:
    """The flow stream's pipeline: the RGB one with L+1 frames and ``FarnebackFlow``."""
    return _with_flow(rgb_pipeline, keep_rgb=False)


def two_stream_pipeline(rgb_pipeline: Sequence[dict], flow_root: Optional[str] = None,
                        video_root: Optional[str] = None) -> List[dict]:
    """RGB and flow clips of the same frames, packed together for ``TwoStreamRecognizer``.

    Args:
        rgb_pipeline (list[dict]): the RGB stream's pipeline.
        flow_root (str, optional): offline flow (``tools/extract_flow.py``'s output root)
            instead of flow computed on the fly.
        video_root (str, optional): the folder the dataset's video paths are relative to
            (needed with ``flow_root``).
    """
    if flow_root is None:
        return _with_flow(rgb_pipeline, keep_rgb=True)
    if video_root is None:
        raise ValueError('offline flow (flow_root) needs the video_root the dataset\'s '
                         'paths are relative to')
    return _with_flow(rgb_pipeline, keep_rgb=True, offline_flow=dict(
        type='LoadAlignedFlow', video_root=video_root, flow_root=flow_root))


_SUBSETS = ('train', 'val', 'test')
#: The split number in MMAction2's annotation file names (``ucf101_train_split_1_videos.txt``).
_SPLIT_IN_NAME = re.compile(r'(?<=_split_)\d+(?=_)')


def _with_split(ann_file: str, split: int) -> str:
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise ValueError(f'split must be a positive integer, got {split!r}')
    if len(_SPLIT_IN_NAME.findall(ann_file)) != 1:
        raise ValueError(f'{ann_file}: expected one "_split_<k>_" in the annotation file '
                         f'name (MMAction2\'s names, e.g. ucf101_train_split_1_videos.txt) '
                         f'to change it to split {split}')
    return _SPLIT_IN_NAME.sub(str(split), ann_file)


def data_settings(base: Mapping,
                  clip_len: Optional[int] = None,
                  flow: bool = False,
                  split: Optional[int] = None) -> Tuple[list, list, list, dict, dict, dict]:
    """A dataset base's pipelines and dataloaders, with other clips, flow or split.

    mmengine evaluates a base config before the config that inherits it, so a base cannot
    read a variable its child sets: one base per dataset holds the recipe, and a config that
    needs other clips, flow input or another split derives them from it in one call::

        clip_len = 32
        (train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
         test_dataloader) = data_settings(_base_, clip_len=clip_len, flow=True)

    Args:
        base (Mapping): the inherited config (``_base_``): its ``train_pipeline``,
            ``val_pipeline``, ``test_pipeline`` and the three dataloaders are read, not
            modified.
        clip_len (int, optional): frames per clip as the model sees them
            (``with_clip_len``). Default: None (the base's).
        flow (bool): optical flow computed on the fly from the base's RGB clips
            (``flow_pipeline``). Default: False.
        split (int, optional): the official split: ``_split_<n>_`` in every annotation
            file's name becomes ``_split_<split>_``. Default: None (the base's).

    Returns:
        tuple: the train, val and test pipelines, then the train, val and test dataloader
        settings that run them (and read the split's annotation files), to be merged into
        the base's dataloaders.
    """
    pipelines, loaders = [], []
    for name in _SUBSETS:
        pipeline = [dict(step) for step in base[f'{name}_pipeline']]
        if flow:
            pipeline = flow_pipeline(pipeline)
        if clip_len is not None:
            pipeline = with_clip_len(pipeline, clip_len)
        dataset = dict(pipeline=pipeline)
        if split is not None:
            dataset['ann_file'] = _with_split(base[f'{name}_dataloader']['dataset']['ann_file'],
                                              split)
        pipelines.append(pipeline)
        loaders.append(dict(dataset=dataset))
    return (*pipelines, *loaders)


def _sample_frames(pipeline: Sequence[dict]) -> dict:
    return next(step for step in pipeline if _step_type(step) == 'SampleFrames')


def two_stream_test_settings(rgb_config: str,
                             flow_config: str,
                             rgb_checkpoint: Optional[str] = None,
                             flow_checkpoint: Optional[str] = None,
                             fusion_alpha: float = 0.5,
                             flow_root: Optional[str] = None,
                             video_root: Optional[str] = None) -> Tuple[dict, dict, dict]:
    """``model``, ``test_dataloader`` and ``test_evaluator`` of a two-stream test.

    The streams are the models of the two single-stream experiment configs (so each is
    exactly the network its checkpoint was trained as); the test data are the RGB config's
    test set and clips, through ``two_stream_pipeline``; the evaluator reports RGB-only,
    flow-only and fused metrics. A two-stream config reads::

        model, test_dataloader, test_evaluator = two_stream_test_settings(
            '{{ fileDirname }}/../kinetics/...-rgb.py',
            '{{ fileDirname }}/../kinetics/...-flow.py')

    Args:
        rgb_config, flow_config (str): the single-stream experiment configs.
        rgb_checkpoint, flow_checkpoint (str, optional): the streams' own checkpoints
            (else give ``tools/test.py`` a merged one, see
            ``r21d_plugin.weights.stream_checkpoints.merge_stream_checkpoints``).
        fusion_alpha (float): weight of the RGB scores.
        flow_root, video_root (str, optional): test on offline flow (``two_stream_pipeline``).
    """
    from mmengine.config import Config

    rgb, flow = Config.fromfile(rgb_config), Config.fromfile(flow_config)
    rgb_clip_len = network_clip_len(rgb.test_dataloader.dataset.pipeline)
    flow_clip_len = network_clip_len(flow.test_dataloader.dataset.pipeline)
    if flow_clip_len != rgb_clip_len:
        raise ValueError(f'the streams were tested on clips of different lengths: '
                         f'{rgb_clip_len} frames ({rgb_config}) and {flow_clip_len} flow '
                         f'frames ({flow_config})')
    model = dict(type='TwoStreamRecognizer', rgb=rgb.model.to_dict(),
                 flow=flow.model.to_dict(), rgb_checkpoint=rgb_checkpoint,
                 flow_checkpoint=flow_checkpoint, fusion_alpha=fusion_alpha)
    test_dataloader = rgb.test_dataloader.to_dict()
    test_dataloader['dataset']['pipeline'] = two_stream_pipeline(
        test_dataloader['dataset']['pipeline'], flow_root, video_root)
    return model, test_dataloader, dict(type='TwoStreamClipVideoAccuracy')
