# R(2+1)D: every 3D conv factorised into 1 x d x d then t x 1 x 1; 18 layers, optical flow
# input.
_base_ = ['./recognizer_flow.py']

model = dict(backbone=dict(type='ResNet2Plus1dHomog'))
