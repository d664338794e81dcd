"""A 3D recognizer that keeps every test clip's scores, for clip@1 and accuracy-vs-clips."""
import torch
from mmaction.models import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import SampleList


@MODELS.register_module()
class MultiClipRecognizer3D(Recognizer3D):
    """``Recognizer3D`` whose predictions also carry the softmax scores of each clip.

    The paper reports clip@1 (one clip) and video@1 (softmax averaged over 10 uniformly
    spaced clips) from one test run. MMAction2's recognizer keeps only the video-level
    ``pred_score``; this one adds ``data_sample.clip_scores``, a (num_clips, num_classes)
    tensor of softmax scores, one row per temporal clip in sampling order. When a test
    pipeline also takes several crops per clip (``ThreeCrop``), a clip's row is the mean
    over its crops; the pipeline must then put ``num_clips`` into the sample's metainfo
    (``PackActionInputs(meta_keys=(..., 'num_clips'))``), otherwise every view counts as
    one clip. ``pred_score`` is unchanged (the head's ``average_clips`` over all views).

    Training and ``tensor`` mode are exactly those of ``Recognizer3D``; it takes the same
    arguments.
    """

    def predict(self, inputs: torch.Tensor, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Predict as ``Recognizer3D`` does, and attach each sample's ``clip_scores``."""
        feats, predict_kwargs = self.extract_feat(inputs, test_mode=True)
        view_scores = self.cls_head(feats, **predict_kwargs)
        predictions = self.cls_head.predict_by_feat(view_scores, data_samples)
        num_samples = len(predictions)
        view_probs = view_scores.softmax(dim=-1).view(num_samples, -1,
                                                       view_scores.shape[-1])
        for sample, probs in zip(predictions, view_probs):
            sample.clip_scores = self.views_to_clips(probs, sample.metainfo.get(
                'num_clips', probs.shape[0]))
        return predictions

    @staticmethod
    def views_to_clips(view_probs: torch.Tensor, num_clips: int) -> torch.Tensor:
        """(num_crops * num_clips, C) crop-major view scores -> (num_clips, C) clip scores.

        ``FormatShape`` orders views crop by crop (all clips of crop 0 first).
        """
        num_views = view_probs.shape[0]
        if num_views % num_clips:
            raise ValueError(f'{num_views} views per sample cannot be split into '
                             f'{num_clips} clips: check num_clips in the test pipeline')
        return view_probs.view(num_views // num_clips, num_clips, -1).mean(dim=0)

