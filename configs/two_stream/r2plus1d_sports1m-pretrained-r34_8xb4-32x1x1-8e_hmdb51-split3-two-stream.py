# Table 6: two-stream R(2+1)D-34 on HMDB51 split 3, fine-tuned from Sports-1M,
# 32-frame clips (paper, top-1 averaged over the 3 splits: 72.7 (RGB 66.6, flow 70.1)).
# The streams are the two single-stream configs named below, each tested from its own
# checkpoint (model.rgb_checkpoint / model.flow_checkpoint, or one merged checkpoint:
# tools/two_stream_checkpoint.py); their per-video softmax scores are averaged 0.5 / 0.5.
# One run reports rgb/*, flow/* and two_stream/* metrics.
_base_ = ['../_base_/default_runtime.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data.pipelines import two_stream_test_settings

model, test_dataloader, test_evaluator = two_stream_test_settings(
    '{{ fileDirname }}/../hmdb51/r2plus1d_sports1m-pretrained-r34_8xb4-32x1x1-8e_hmdb51-split3-rgb.py',
    '{{ fileDirname }}/../hmdb51/r2plus1d_sports1m-pretrained-r34_8xb4-32x1x1-8e_hmdb51-split3-flow.py')
test_cfg = dict(type='TestLoop')
