# VMZ's R(2+1)D-34 for 32-frame clips, Kinetics-400 classes: 
# r2plus1d_34_clip32_ft_kinetics_from_ig65m (IG-65M pre-training, fine-tuned on Kinetics), and
# VMZ's 2018 Caffe2 r2.5d_d34_l32.pkl (Kinetics from scratch) and r2.5d_d34_l32_ft_sports1m.pkl
# (Sports-1M pre-training, fine-tuned on Kinetics).
# Convert the ig65m-pytorch .pth with --source vmz-pt, or VMZ's Caffe2 .pkl with
# --source caffe2 (both --arch r2plus1d_34). Tested as VMZ tests: 10 uniformly spaced
# 32-frame clips, frames resized to 128x171, 112x112 center crop.
_base_ = ['../_base_/models/r2plus1d_r34.py', '../_base_/pretrained/kinetics400_rgb_32x1x10.py']

model = dict(backbone=dict(clip_len=32), cls_head=dict(num_classes=400))
