# Table 6: R(2+1)D-34 fine-tuned on UCF101 split 1 from Sports-1M, RGB,
# 32-frame clips (paper, top-1 averaged over the 3 splits: 93.6).
_base_ = [
    '../_base_/models/r2plus1d_r34.py', '../_base_/datasets/ucf101_rgb.py',
    '../_base_/schedules/sgd_8e_finetune_ucf101.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'work_dirs/r2plus1d_r34_8xb32-32x1x1-45e_sports1m-rgb/epoch_45.pth'
