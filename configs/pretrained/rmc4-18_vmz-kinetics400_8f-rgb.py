# VMZ's rMC4-18, trained from scratch on Kinetics-400 (paper Table 2): VMZ's
# rmc4_d18_l8.pkl; convert with --source caffe2 --arch rmc4_18.
# rmc4_d18_l16.pkl (16 frames) loads here too: only R2D's weights depend on the
# clip length.
_base_ = ['../_base_/models/rmc4_r18.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=8),
    cls_head=dict(num_classes=400))
