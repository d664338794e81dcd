# f-R2D: 2D convs on every frame, fused only by the final pooling; 34 layers, optical flow
# input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='FR2DResNet', depth=34))
