# torchvision.models.video.r3d_18 with R3D_18_Weights.KINETICS400_V1 (Kinetics-400,
# trained on 16-frame 112x112 clips); convert with --source torchvision.
# torchvision strides in time in every 3D / (2+1)D stage whatever the clip length
# (clip_len=None) and keeps nn.BatchNorm3d's eps 1e-5.
_base_ = ['../_base_/models/r3d_r18.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=None, norm_cfg=dict(eps=1e-5)),
    cls_head=dict(num_classes=400))
