# VMZ's optical-flow R(2+1)D-34 for 32-frame clips, Sports-1M -> Kinetics-400
# (r2.5d_d34_l32_ft_sports1m_optical_flow.pkl, 2 input channels). Convert with --source caffe2.
_base_ = ['./_base_/recognizer.py']

model = dict(
    backbone=dict(depth=34, clip_len=32, in_channels=2),
    cls_head=dict(num_classes=400),
    # Float Farneback flow (dx, dy) in pixels, normalised as VMZ does.
    data_preprocessor=dict(mean=[0.0046635, 0.0046261], std=[0.972347, 0.755146]))
