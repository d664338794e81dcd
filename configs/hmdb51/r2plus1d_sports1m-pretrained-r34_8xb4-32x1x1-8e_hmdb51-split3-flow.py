# Table 6: R(2+1)D-34 fine-tuned on HMDB51 split 3 from Sports-1M, optical flow,
# 32-frame clips (paper, top-1 averaged over the 3 splits: 70.1).
_base_ = [
    '../_base_/models/r2plus1d_r34_flow.py', '../_base_/datasets/hmdb51_rgb.py',
    '../_base_/schedules/sgd_8e_finetune_hmdb51.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, flow=True, split=3)
model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'work_dirs/r2plus1d_r34_8xb32-32x1x1-45e_sports1m-flow/epoch_45.pth'
