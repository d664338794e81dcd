# Table 2: rMC4-18 on Kinetics-400 from scratch, 16-frame clips (paper: clip@1 53.4, video@1
# 65.1).
_base_ = [
    '../_base_/models/rmc4_r18.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_45e_warmup.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

clip_len = 16
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len)
model = dict(
    backbone=dict(clip_len=clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
