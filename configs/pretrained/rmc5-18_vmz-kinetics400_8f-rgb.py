# VMZ's rMC5-18, trained from scratch on Kinetics-400 (paper Table 2): VMZ's
# rmc5_d18_l8.pkl; convert with --source caffe2 --arch rmc5_18.
# rmc5_d18_l16.pkl (16 frames) loads here too: only R2D's weights depend on the
# clip length.
_base_ = ['../_base_/models/rmc5_r18.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=8),
    cls_head=dict(num_classes=400))
