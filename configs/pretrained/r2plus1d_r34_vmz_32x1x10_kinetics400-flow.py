# VMZ's optical-flow R(2+1)D-34 for 32-frame clips, Sports-1M -> Kinetics-400
# (r2.5d_d34_l32_ft_sports1m_optical_flow.pkl: 2 input channels, float Farneback flow in
# pixels with VMZ's normalisation); convert with --source caffe2 --arch r2plus1d_34.
# Tested as VMZ tests it (its extract_feature_kinetics_of.sh): each clip draws 33 consecutive
# frames, resized to 128x171 and center-cropped to 112, whose Farneback flow gives the 32 flow
# frames (r21d_plugin.data.flow.FarnebackFlow); 10 uniformly spaced clips.
_base_ = [
    '../_base_/models/r2plus1d_r34_flow.py',
    '../_base_/pretrained/kinetics400_flow_32x1x10.py',
]

model = dict(backbone=dict(clip_len=32), cls_head=dict(num_classes=400))
