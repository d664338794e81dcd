# Table 4: two-stream R(2+1)D-34 on Sports-1M from scratch, 8-frame clips, 100 test
# clips (paper: video@1 / video@5 72.2 / 91.4 (RGB 72.0 / 91.2, flow 65.5 / 87.2)).
# The streams are the two single-stream configs named below, each tested from its own
# checkpoint (model.rgb_checkpoint / model.flow_checkpoint, or one merged checkpoint:
# tools/two_stream_checkpoint.py); their per-video softmax scores are averaged 0.5 / 0.5.
# One run reports rgb/*, flow/* and two_stream/* metrics.
_base_ = ['../_base_/default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import two_stream_test_settings

model, test_dataloader, test_evaluator = two_stream_test_settings(
    '{{ fileDirname }}/../sports1m/r2plus1d_r34_8xb32-8x1x1-45e_sports1m-rgb.py',
    '{{ fileDirname }}/../sports1m/r2plus1d_r34_8xb32-8x1x1-45e_sports1m-flow.py')
test_cfg = dict(type='TestLoop')
