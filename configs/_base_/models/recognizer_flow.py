# The flow stream: the same recognizer on 2-channel (dx, dy) Farneback flow in pixels,
# normalised with VMZ's flow statistics (r21d_plugin.data.flow.FLOW_MEAN / FLOW_STD).
_base_ = ['./recognizer_rgb.py']
# (after _base_: mmengine treats a config whose first statement is an import as "lazy")
from r21d_plugin.data import flow as flow_data

model = dict(
    backbone=dict(in_channels=2),
    data_preprocessor=dict(mean=list(flow_data.FLOW_MEAN), std=list(flow_data.FLOW_STD)))
