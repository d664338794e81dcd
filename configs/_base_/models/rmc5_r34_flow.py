# rMC5: 2D convs in groups 1..4, 3D in groups 5..5; 34 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='ReversedMixedConvResNet', switch_group=5, depth=34))
