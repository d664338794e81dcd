# Two-stream test of the demo R(2+1)D on the embedded motion dataset with offline flow
# (tools/extract_flow.py ... data/motion_flow --resize none): the flow stream trained on
# it (r2plus1d-..._motion-flow-rawframes.py) scores the stored flow of the very frames and
# crop the RGB stream sees (LoadAlignedFlow); per-video softmax scores fused 0.5 / 0.5.
_base_ = ['../_base_/default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import two_stream_test_settings

model, test_dataloader, test_evaluator = two_stream_test_settings(
    '{{ fileDirname }}/../demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
    '{{ fileDirname }}/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-flow-rawframes.py',
    flow_root='data/motion_flow', video_root='data/motion')
test_cfg = dict(type='TestLoop')
