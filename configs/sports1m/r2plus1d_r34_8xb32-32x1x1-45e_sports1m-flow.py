# Table 4: R(2+1)D-34 on Sports-1M from scratch, optical flow, 32-frame clips, 100 test
# clips (paper: clip@1 / video@1 / video@5 46.4 / 68.4 / 88.7).
_base_ = [
    '../_base_/models/r2plus1d_r34_flow.py', '../_base_/datasets/sports1m_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

clip_len = 32
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len, flow=True)
model = dict(
    backbone=dict(clip_len=clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
