# Table 3, train 8 / test 32: the 8-frame R(2+1)D-18 tested on 10 clips of 32 frames
# (paper: clip@1 51.6, video@1 59.0). Test only: tools/test.py with the checkpoint of
# r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb.py.
_base_ = ['./r2plus1d_r18_8xb32-8x1x1-45e_kinetics400-rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import with_clip_len

test_pipeline = with_clip_len(_base_.test_pipeline, 32)
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
