# R(2+1)D: every 3D conv factorised into 1 x d x d then t x 1 x 1; 34 layers, RGB input.
_base_ = ['./recognizer_rgb.py']

model = dict(backbone=dict(type='ResNet2Plus1dHomog', depth=34))
