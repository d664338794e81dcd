# Table 4: R3D-34 on Sports-1M from scratch, RGB, 8-frame clips (paper: clip@1 53.8).
_base_ = [
    '../_base_/models/r3d_r34.py', '../_base_/datasets/sports1m_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
