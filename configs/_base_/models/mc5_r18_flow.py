# MC5: 3D convs in groups 1..4, 2D in groups 5..5; 18 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='MixedConvResNet', switch_group=5))
