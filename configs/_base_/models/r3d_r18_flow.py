# R3D: every conv 3D; 18 layers, optical flow input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='R3DResNet'))
