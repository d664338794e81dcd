# Two-stream test of the demo R(2+1)D on the embedded motion dataset: the RGB stream
# (configs/demo) and the flow stream (beside this file) score the same 10 clips of every
# test video (flow computed on the fly from the same frames and crop) and their per-video
# softmax scores are fused 0.5 / 0.5. One run reports rgb/*, flow/* and two_stream/*
# clip@1, video@1, video@5 and mean class accuracy.
#   python tools/test.py THIS_CONFIG TWO_STREAM_CKPT
# with TWO_STREAM_CKPT from r21d_plugin.weights.stream_checkpoints.merge_stream_checkpoints(rgb, flow),
# or set model.rgb_checkpoint / model.flow_checkpoint (see docs/two-stream.md).
_base_ = ['../_base_/default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import two_stream_test_settings

model, test_dataloader, test_evaluator = two_stream_test_settings(
    '{{ fileDirname }}/../demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py',
    '{{ fileDirname }}/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-flow.py')
test_cfg = dict(type='TestLoop')
