# Table 6: R(2+1)D-34 fine-tuned on HMDB51 split 3 from Kinetics-400, RGB,
# 32-frame clips (paper, top-1 averaged over the 3 splits: 74.5).
_base_ = [
    '../_base_/models/r2plus1d_r34.py', '../_base_/datasets/hmdb51_rgb.py',
    '../_base_/schedules/sgd_8e_finetune_hmdb51.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings

(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, split=3)
model = dict(
    backbone=dict(clip_len=_base_.clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'r21d://r2plus1d_r34_vmz_32x1x10_kinetics400-rgb'  # VMZ's published model
