# VMZ's f-R2D-18 trained from scratch on Kinetics-400 (paper Table 2; VMZ model zoo
# r2df_d18_l8.pkl). Convert with --source caffe2 --arch r2df_18.
# r2df_d18_l16.pkl (16 frames) loads into this config too: only R2D's weights depend on
# the clip length.
_base_ = ['./_base_/recognizer.py']

model = dict(
    backbone=dict(type='FR2DResNet', depth=18, clip_len=8),
    cls_head=dict(num_classes=400))
