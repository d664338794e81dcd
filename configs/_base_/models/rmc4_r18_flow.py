# rMC4: 2D convs in groups 1..3, 3D in groups 4..5; 18 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='ReversedMixedConvResNet', switch_group=4))
