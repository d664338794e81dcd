# f-R2D: 2D convs on every frame, fused only by the final pooling; 18 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='FR2DResNet'))
