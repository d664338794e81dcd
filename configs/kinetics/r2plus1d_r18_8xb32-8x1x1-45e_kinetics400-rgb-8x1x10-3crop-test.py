# The 10-clip test of the 8-frame R(2+1)D-18 (Table 2) with three 128x128 crops per clip
# (left, center, right of the 128x171 frame) instead of one 112x112 center crop: a clip's
# score is the mean over its crops (clip@1), a video's over all 30 views (video@1). Test
# only: tools/test.py with the checkpoint of
# r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb.py.
_base_ = ['./r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_three_crop

test_pipeline = with_three_crop(_base_.test_pipeline, 128)
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
