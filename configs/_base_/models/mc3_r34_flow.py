# MC3: 3D convs in groups 1..2, 2D in groups 3..5; 34 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=3, depth=34))
