# rMC3: 2D convs in groups 1..2, 3D in groups 3..5; 34 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='ReversedMixedConvResNet', switch_group=3, depth=34))
