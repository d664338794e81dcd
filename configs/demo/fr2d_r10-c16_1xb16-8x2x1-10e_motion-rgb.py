# f-R2D on the embedded motion dataset: the R(2+1)D demo config with every conv 2D on each
# frame (frames meet only in the final pooling), at the same shrunk size.
_base_ = ['./r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin import paper_backbone

network = 'f-R2D'
model = dict(
    backbone=dict(_delete_=True, **paper_backbone(network, depth=10, clip_len=8,
                                                  base_channels=16)))
