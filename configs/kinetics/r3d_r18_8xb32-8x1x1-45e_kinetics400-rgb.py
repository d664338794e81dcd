# Table 2: R3D-18 on Kinetics-400 from scratch, 8-frame clips (paper: clip@1 49.4, video@1
# 61.8).
_base_ = [
    '../_base_/models/r3d_r18.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
