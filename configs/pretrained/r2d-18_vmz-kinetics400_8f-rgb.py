# VMZ's R2D-18 trained from scratch on Kinetics-400 (paper Table 2; VMZ model zoo
# r2d_d18_l8.pkl). Convert with --source caffe2 --arch r2d_18.
# R2D's conv1 spans the whole clip, so the 8- and 16-frame weights need their own config.
_base_ = ['./_base_/recognizer.py']

model = dict(
    backbone=dict(type='R2DResNet', depth=18, clip_len=8),
    cls_head=dict(num_classes=400))
