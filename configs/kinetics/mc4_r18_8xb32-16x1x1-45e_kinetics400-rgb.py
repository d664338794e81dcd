# Table 2: MC4-18 on Kinetics-400 from scratch, 16-frame clips (paper: clip@1 53.7, video@1
# 65.1).
_base_ = [
    '../_base_/models/mc4_r18.py', '../_base_/datasets/kinetics400_rgb_16x1x1.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
