# VMZ's R(2+1)D-34 for 32-frame clips: r2plus1d_34_clip32_ft_kinetics_from_ig65m
# (IG-65M, fine-tuned on Kinetics-400), and VMZ's 2018 Caffe2 r2.5d_d34_l32.pkl (Kinetics
# from scratch) and r2.5d_d34_l32_ft_sports1m.pkl (Sports-1M, fine-tuned on Kinetics).
# Convert the ig65m-pytorch .pth with --source vmz-pt, or VMZ's Caffe2 .pkl with
# --source caffe2 (both --arch r2plus1d_34).
_base_ = ['../_base_/models/r2plus1d_r34.py', '../_base_/default_runtime.py']

model = dict(
    backbone=dict(clip_len=32),
    cls_head=dict(num_classes=400))
