# R3D: every conv 3D; 18 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='R3DResNet'))
