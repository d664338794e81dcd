# MC2: 3D convs in groups 1..1, 2D in groups 2..5; 34 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=2, depth=34))
