# Table 5: R(2+1)D-34 on Kinetics-400 fine-tuned from Sports-1M, RGB, 32-frame
# clips (paper: video@1 / video@5 74.3 / 91.4). The 487-class head is not loaded.
_base_ = [
    '../_base_/models/r2plus1d_r34.py', '../_base_/datasets/kinetics400_rgb_32x1x1.py',
    '../_base_/schedules/sgd_15e_finetune.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'work_dirs/r2plus1d_r34_8xb32-32x1x1-45e_sports1m-rgb/epoch_45.pth'
