# Table 2: rMC3-18 on Kinetics-400 from scratch, 8-frame clips (paper: clip@1 49.8, video@1
# 62.3).
_base_ = [
    '../_base_/models/rmc3_r18.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
