# VMZ's R3D-18 trained from scratch on Kinetics-400 (paper Table 2; VMZ model zoo
# r3d_d18_l8.pkl). Convert with --source caffe2 --arch r3d_18.
# r3d_d18_l16.pkl (16 frames) loads into this config too: only R2D's weights depend on
# the clip length.
_base_ = ['./_base_/recognizer.py']

model = dict(
    backbone=dict(type='R3DResNet', depth=18, clip_len=8),
    cls_head=dict(num_classes=400))
