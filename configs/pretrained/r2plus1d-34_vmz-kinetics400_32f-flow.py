# VMZ's optical-flow R(2+1)D-34 for 32-frame clips, Sports-1M -> Kinetics-400
# (r2.5d_d34_l32_ft_sports1m_optical_flow.pkl: 2 input channels, float Farneback flow in
# pixels with VMZ's normalisation); convert with --source caffe2 --arch r2plus1d_34.
_base_ = ['../_base_/models/r2plus1d_r34_flow.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=32),
    cls_head=dict(num_classes=400))
