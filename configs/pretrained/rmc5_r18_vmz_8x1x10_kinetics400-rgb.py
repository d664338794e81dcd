# VMZ's rMC5-18, trained from scratch on Kinetics-400 on 8-frame clips (paper Table 2):
# rmc5_d18_l8.pkl; convert with --source caffe2 --arch rmc5_18. Tested as VMZ tests it: 10
# uniformly spaced 8-frame clips, frames resized to 128x171, 112x112 center crop.
_base_ = ['../_base_/models/rmc5_r18.py', '../_base_/pretrained/kinetics400_rgb_8x1x10.py']

model = dict(backbone=dict(clip_len=8), cls_head=dict(num_classes=400))
