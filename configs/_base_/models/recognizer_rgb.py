# The recognizer shared by every network of the paper (Table 1): a spatiotemporal ResNet,
# global spatiotemporal average pooling and one fc layer; at test time the softmax scores
# of the clips are averaged (video@1) and kept per clip (clip@1).
# The network bases beside this file add the backbone type (and depth) of the networks the
# experiment configs train; any other network of the paper, at any depth:
# `model = dict(backbone=paper_backbone('MC3', depth=34, clip_len=...))` (docs/configs.md).
model = dict(
    type='MultiClipRecognizer3D',
    backbone=dict(
        depth=18,
        clip_len=8,
        in_channels=3,
        # VMZ's BN (eps 1e-3), so converted reference weights behave as in Caffe2.
        norm_cfg=dict(type='BN3d', requires_grad=True, eps=1e-3)),
    cls_head=dict(
        type='I3DHead',
        num_classes=400,
        in_channels=512,
        spatial_type='avg',
        dropout_ratio=0.0,  # VMZ trains without dropout (use_dropout=0)
        init_std=0.01,
        average_clips='prob'),
    # RGB 0..255 normalisation of the released weights (torchvision's constants x 255).
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[110.201, 100.64, 95.9966],
        std=[58.1489, 56.4701, 55.3324],
        format_shape='NCTHW'))
