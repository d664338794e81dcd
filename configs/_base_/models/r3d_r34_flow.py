# R3D: every conv 3D; 34 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='R3DResNet', depth=34))
