# MC4: 3D convs in groups 1..3, 2D in groups 4..5; 34 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=4, depth=34))
