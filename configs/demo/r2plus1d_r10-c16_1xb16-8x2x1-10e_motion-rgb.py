# R(2+1)D on the embedded motion dataset, sized for 2 CPU cores (tools/demo.py).
# The paper's R(2+1)D (per-conv mid channels, 45-channel (2+1)D stem, no max-pool) shrunk
# three ways: depth 10 (VMZ's 1-1-1-1 blocks), base_channels 16 (widths 16-32-64-128
# instead of 64-128-256-512) and 8 x 28 x 28 clips (instead of 8 x 112 x 112). The schedule
# is not the paper's SGD either: AdamW with warm-up and cosine decay learns this dataset in
# 640 iterations (10 epochs of 1024 videos), where SGD with momentum needed about 1.5 times
# as many in our trials.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/motion_rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin import paper_backbone

network = 'R(2+1)D'
depth = 10
base_channels = 16
model = dict(
    type='MultiClipRecognizer3D',
    backbone=paper_backbone(network, depth=depth, clip_len=8, base_channels=base_channels),
    cls_head=dict(
        type='I3DHead',
        num_classes=8,
        in_channels=base_channels * 8,
        spatial_type='avg',
        dropout_ratio=0.0,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[110.201, 100.64, 95.9966],
        std=[58.1489, 56.4701, 55.3324],
        format_shape='NCTHW'))

max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(logger=dict(interval=16))
env_cfg = dict(cudnn_benchmark=False)
