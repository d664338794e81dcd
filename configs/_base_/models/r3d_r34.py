# R3D: every conv 3D; 34 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='R3DResNet', depth=34))
