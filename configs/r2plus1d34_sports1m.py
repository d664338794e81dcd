# The entry point: R(2+1)D-34 on Sports-1M, RGB, 8-frame clips, trained from scratch
# and tested on 100 clips per video (paper, Table 4: clip@1 56.1, video@1 72.0).
# Data: tools/data/sports1m/build_annotations.py (docs/reproduction.md, "Data preparation").
_base_ = ['./sports1m/r2plus1d_r34_8xb32-8x1x1-45e_sports1m-rgb.py']
