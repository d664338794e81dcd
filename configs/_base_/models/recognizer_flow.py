# The flow stream: the same recognizer on 2-channel (dx, dy) Farneback flow in pixels,
# normalised with VMZ's flow statistics (r21d_plugin.data.flow.FLOW_MEAN / FLOW_STD).
_base_ = ['./recognizer_rgb.py']

model = dict(
    backbone=dict(in_channels=2),
    data_preprocessor=dict(
        mean=[0.0046635, 0.0046261], std=[0.972347, 0.755146]))
