# MC2: 3D convs in groups 1..1, 2D in groups 2..5; 34 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=2, depth=34))
