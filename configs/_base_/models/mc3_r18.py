# MC3: 3D convs in groups 1..2, 2D in groups 3..5; 18 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=3))
