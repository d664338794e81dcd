# rMC2: 2D convs in groups 1..1, 3D in groups 2..5; 18 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='ReversedMixedConvResNet', switch_group=2))
