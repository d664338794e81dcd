# VMZ's R2D-18, trained from scratch on Kinetics-400 (paper Table 2): VMZ's
# r2d_d18_l16.pkl; convert with --source caffe2 --arch r2d_18.
# R2D's conv1 spans the whole clip: the 8- and 16-frame weights need their own config.
_base_ = ['../_base_/models/r2d_r18.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=16),
    cls_head=dict(num_classes=400))
