# Table 4: R(2+1)D-34 on Sports-1M from scratch, optical flow, 32-frame clips, 100 test
# clips (paper: clip@1 / video@1 / video@5 46.4 / 68.4 / 88.7).
_base_ = [
    '../_base_/models/r2plus1d_r34_flow.py', '../_base_/datasets/sports1m_flow_32x1x1.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
