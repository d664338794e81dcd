# VMZ's R(2+1)D-34 for 32-frame clips: r2plus1d_34_clip32_ig65m_from_scratch
# (IG-65M pre-training, 359 classes).
# Convert the ig65m-pytorch .pth with --source vmz-pt, or VMZ's Caffe2 .pkl with
# --source caffe2 (both --arch r2plus1d_34).
_base_ = ['../_base_/models/r2plus1d_r34.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=32),
    cls_head=dict(num_classes=359))
