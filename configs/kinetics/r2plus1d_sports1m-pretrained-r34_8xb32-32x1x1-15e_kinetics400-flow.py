# Table 5: R(2+1)D-34 on Kinetics-400 fine-tuned from Sports-1M, optical flow, 32-frame
# clips (paper: video@1 / video@5 68.5 / 88.1). The 487-class head is not loaded.
_base_ = [
    '../_base_/models/r2plus1d_r34_flow.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_15e_finetune.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

clip_len = 32
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len, flow=True)
model = dict(
    backbone=dict(clip_len=clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'work_dirs/r2plus1d_r34_8xb32-32x1x1-45e_sports1m-flow/epoch_45.pth'
