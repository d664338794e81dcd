# Table 2: f-R2D-18 on Kinetics-400 from scratch, 16-frame clips (paper: clip@1 50.3,
# video@1 60.5).
_base_ = [
    '../_base_/models/fr2d_r18.py', '../_base_/datasets/kinetics400_rgb_16x1x1.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
