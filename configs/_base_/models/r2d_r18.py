# R2D: conv1 (L x 7 x 7) collapses the clip, 2D convs after; 18 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='R2DResNet'))
