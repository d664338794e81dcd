# R2D: conv1 (L x 7 x 7) collapses the clip, 2D convs after; 34 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='R2DResNet', depth=34))
