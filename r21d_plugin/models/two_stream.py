"""Two-stream late fusion (paper section 4.4): an RGB and an optical-flow recognizer, trained
separately, whose per-video softmax scores are averaged, ``alpha * rgb + (1 - alpha) * flow``.
"""
from collections import OrderedDict
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, SampleList

from ..engine.checkpoint_loading import load_checked

#: Names of the two streams: submodule names, and prefixes of their fields and losses.
STREAMS = ('rgb', 'flow')
#: Keys of the two streams' clips in the packed inputs (``PackActionInputs(collect_keys)``).
DEFAULT_INPUT_KEYS = dict(rgb='imgs', flow='flow_imgs')


@MODELS.register_module()
class TwoStreamRecognizer(BaseModel):
    """An RGB recognizer and a flow recognizer fused at test time, as in the paper.

    Each stream is any MMAction2 recognizer config, the same one that trained it (its
    ``data_preprocessor`` normalises that stream's input), and is initialised from its
    own checkpoint. At test time each stream scores the same clips of a video (the
    pipeline's ``FarnebackFlow(keep_rgb=True)`` keeps RGB and flow of the same frames);
    each sample then carries:

    * ``rgb_score``, ``flow_score``: each stream's per-video softmax averaged over clips,
      and ``rgb_clip_scores``, ``flow_clip_scores``: its (num_clips, C) softmax scores;
    * ``pred_score`` = ``alpha * rgb_score + (1 - alpha) * flow_score`` (and ``pred_label``),
      ``clip_scores`` = the same fusion per clip, so ``ClipVideoAccuracy`` reports the
      fused metrics and ``TwoStreamClipVideoAccuracy`` all three.

    The streams need ``average_clips='prob'`` (softmax averaging) and per-clip scores,
    which ``MultiClipRecognizer3D`` provides. In ``loss`` mode the two streams train
    jointly on the same clips (the sum of their losses, keys prefixed ``rgb.`` /
    ``flow.``); the paper trains them separately, with each stream's own config.

    Args:
        rgb (dict): the RGB recognizer's config.
        flow (dict): the flow recognizer's config (``in_channels=2``).
        rgb_checkpoint (str, optional): checkpoint of the RGB recognizer (its
            ``state_dict`` keys as saved by its own training: ``backbone.*``,
            ``cls_head.*``), loaded when the model is built.
        flow_checkpoint (str, optional): the same for the flow recognizer.
        fusion_alpha (float): weight of the RGB scores, in [0, 1]. Defaults to 0.5.
        input_keys (dict, optional): the keys of each stream's clips in the packed
            inputs. Defaults to ``dict(rgb='imgs', flow='flow_imgs')``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 rgb: ConfigType,
                 flow: ConfigType,
                 rgb_checkpoint: Optional[str] = None,
                 flow_checkpoint: Optional[str] = None,
                 fusion_alpha: float = 0.5,
                 input_keys: Optional[Dict[str, str]] = None,
                 init_cfg: OptConfigType = None) -> None:
        if not 0.0 <= fusion_alpha <= 1.0:
            raise ValueError(f'fusion_alpha must be in [0, 1], got {fusion_alpha}')
        self.input_keys = dict(DEFAULT_INPUT_KEYS, **(input_keys or {}))
        stream_cfgs = dict(rgb=rgb, flow=flow)
        for name, cfg in stream_cfgs.items():
            average_clips = cfg.get('cls_head', {}).get('average_clips')
            if average_clips != 'prob':
                raise ValueError(
                    f"the {name} stream's cls_head must average softmax scores over clips "
                    f"(average_clips='prob'), the paper's late fusion; got {average_clips!r}")
        # One preprocessor per stream input, each the stream's own (its normalisation).
        preprocessors = {
            self.input_keys[name]: cfg.get('data_preprocessor',
                                           dict(type='ActionDataPreprocessor'))
            for name, cfg in stream_cfgs.items()
        }
        super().__init__(
            data_preprocessor=dict(type='MultiModalDataPreprocessor',
                                   preprocessors=preprocessors),
            init_cfg=init_cfg)
        self.fusion_alpha = fusion_alpha
        self.rgb = MODELS.build(rgb)
        self.flow = MODELS.build(flow)
        for name, checkpoint in zip(STREAMS, (rgb_checkpoint, flow_checkpoint)):
            if checkpoint is not None:
                self._load_stream(name, checkpoint)

    def _load_stream(self, name: str, checkpoint: str) -> None:
        """Load one stream's own checkpoint; ``init_weights`` will then leave it alone."""
        stream = getattr(self, name)
        load_checked(stream, checkpoint, f'the {name} stream ({name}_checkpoint)')
        stream._is_init = True  # BaseModule.init_weights skips initialised children

    @property
    def streams(self) -> Dict[str, BaseModel]:
        """The two recognizers by stream name."""
        return OrderedDict((name, getattr(self, name)) for name in STREAMS)

    def _stream_inputs(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        missing = [key for key in self.input_keys.values() if key not in inputs]
        if missing:
            raise KeyError(
                f'TwoStreamRecognizer needs inputs {sorted(self.input_keys.values())}, '
                f'missing {missing}: pack them with PackActionInputs(collect_keys=...) after '
                f'FarnebackFlow(keep_rgb=True)')
        return {name: inputs[key] for name, key in self.input_keys.items()}

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], SampleList,
                                               Tuple]:
        """``loss``, ``predict`` or ``tensor`` (each stream's head output, as a tuple)."""
        stream_inputs = self._stream_inputs(inputs)
        if mode == 'loss':
            return self.loss(stream_inputs, data_samples)
        if mode == 'predict':
            return self.predict(stream_inputs, data_samples)
        if mode == 'tensor':
            return tuple(stream(stream_inputs[name], mode='tensor', stage='head')
                         for name, stream in self.streams.items())
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor '
                           'mode')

    def loss(self, stream_inputs: Dict[str, torch.Tensor],
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Both streams' losses on the same samples, keys prefixed by the stream name."""
        losses = {}
        for name, stream in self.streams.items():
            for key, value in stream.loss(stream_inputs[name], data_samples).items():
                losses[f'{name}.{key}'] = value
        return losses

    def predict(self, stream_inputs: Dict[str, torch.Tensor],
                data_samples: SampleList) -> SampleList:
        """Score each stream, then fuse per video and per clip."""
        stream_scores = {}
        for name, stream in self.streams.items():
            predictions = stream.predict(stream_inputs[name],
                                         [sample.new() for sample in data_samples])
            stream_scores[name] = [_scores_of(name, sample) for sample in predictions]
        alpha = self.fusion_alpha
        for index, sample in enumerate(data_samples):
            (rgb_video, rgb_clips), (flow_video, flow_clips) = (
                stream_scores[name][index] for name in STREAMS)
            for name, (video, clips) in zip(STREAMS, ((rgb_video, rgb_clips),
                                                       (flow_video, flow_clips))):
                sample.set_field(video, f'{name}_score')
                sample.set_field(clips, f'{name}_clip_scores')
            fused = fuse_scores(rgb_video, flow_video, alpha)
            sample.set_pred_score(fused)
            sample.set_pred_label(fused.argmax(dim=-1, keepdim=True))
            sample.clip_scores = fuse_scores(rgb_clips, flow_clips, alpha)
        return data_samples


def _scores_of(name: str, sample) -> Tuple[torch.Tensor, torch.Tensor]:
    if 'clip_scores' not in sample:
        raise KeyError(f'the {name} stream did not give per-clip scores (clip_scores): use '
                       f'MultiClipRecognizer3D (or a recognizer that sets them) for it')
    return sample.pred_score, sample.clip_scores


def fuse_scores(rgb: torch.Tensor, flow: torch.Tensor, alpha: float) -> torch.Tensor:
    """Late fusion of softmax scores: ``alpha * rgb + (1 - alpha) * flow``."""
    return alpha * rgb + (1.0 - alpha) * flow
