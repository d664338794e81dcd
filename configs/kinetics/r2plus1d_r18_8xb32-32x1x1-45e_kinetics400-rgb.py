# Figure 5a: R(2+1)D-18 on Kinetics-400 from scratch, 32-frame clips (paper, Table 3: clip@1
# 60.1, video@1 69.4; video@1 peaks at 32 frames).
_base_ = [
    '../_base_/models/r2plus1d_r18.py', '../_base_/datasets/kinetics400_rgb_32x1x1.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
