# torchvision.models.video.mc3_18 with MC3_18_Weights.KINETICS400_V1 (Kinetics-400, trained on
# 16-frame 112x112 clips); convert with --source torchvision. Tested with torchvision's own
# preprocessing (the weights' transforms(), exactly: see the data base) on the paper's 10
# uniformly spaced clips; torchvision's published accuracy uses 5 clips at 15 fps.
# torchvision strides in time in every 3D / (2+1)D stage whatever the clip length
# (clip_len=None) and keeps nn.BatchNorm3d's eps 1e-5.
# torchvision's mc3_18 is the paper's MC3.
_base_ = [
    '../_base_/models/mc3_r18.py',
    '../_base_/pretrained/kinetics400_rgb_16x1x10_torchvision.py',
]

model = dict(
    backbone=dict(clip_len=None, norm_cfg=dict(eps=1e-5)),
    cls_head=dict(num_classes=400),
    data_preprocessor=dict(mean=_base_.torchvision_mean, std=_base_.torchvision_std))
