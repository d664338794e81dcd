# Table 3, train 8 then fine-tune 32: R(2+1)D-18 fine-tuned on 32-frame clips from the
# 8-frame model (paper: clip@1 59.8, video@1 68.0). The paper does not give this
# fine-tuning schedule; it uses the Sports-1M -> Kinetics one.
_base_ = [
    '../_base_/models/r2plus1d_r18.py', '../_base_/datasets/kinetics400_rgb.py',
    '../_base_/schedules/sgd_15e_finetune.py', '../_base_/default_runtime.py'
]
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import data_settings
clip_len = 32
(train_pipeline, val_pipeline, test_pipeline, train_dataloader, val_dataloader,
 test_dataloader) = data_settings(_base_, clip_len=clip_len)
model = dict(
    backbone=dict(clip_len=clip_len),
    cls_head=dict(num_classes=_base_.num_classes))
load_from = 'r21d://r2plus1d_r18_vmz_8x1x10_kinetics400-rgb'  # VMZ's published model
