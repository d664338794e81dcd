# Table 2: R(2+1)D-18 on Kinetics-400 from scratch, 16-frame clips (paper: clip@1 56.8,
# video@1 68.0).
_base_ = [
    '../_base_/models/r2plus1d_r18.py', '../_base_/datasets/kinetics400_rgb_16x1x1.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
