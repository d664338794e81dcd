# VMZ's R(2+1)D-34 for 32-frame clips, trained on IG-65M only:
# r2plus1d_34_clip32_ig65m_from_scratch (359 classes). Convert the ig65m-pytorch .pth with
# --source vmz-pt, or VMZ's Caffe2 .pkl with --source caffe2 (both --arch r2plus1d_34).
# The 8-frame IG-65M config (no public classes or videos) on 32-frame clips.
_base_ = ['./r2plus1d_r34_vmz_8x1x10_ig65m-rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_clip_len

model = dict(backbone=dict(clip_len=32), cls_head=dict(num_classes=359))
test_pipeline = with_clip_len(_base_.test_pipeline, 32)
