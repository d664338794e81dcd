# Table 2: MC5-18 on Kinetics-400 from scratch, 8-frame clips (paper: clip@1 50.3, video@1
# 62.5).
_base_ = [
    '../_base_/models/mc5_r18.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
