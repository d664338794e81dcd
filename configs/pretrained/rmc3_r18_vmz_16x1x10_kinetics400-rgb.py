# VMZ's rMC3-18, trained from scratch on Kinetics-400 on 16-frame clips (paper Table 2):
# rmc3_d18_l16.pkl; convert with --source caffe2 --arch rmc3_18. Tested as VMZ tests it: 10
# uniformly spaced 16-frame clips, frames resized to 128x171, 112x112 center crop.
_base_ = ['../_base_/models/rmc3_r18.py', '../_base_/pretrained/kinetics400_rgb_16x1x10.py']

model = dict(backbone=dict(clip_len=16), cls_head=dict(num_classes=400))
