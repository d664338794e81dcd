"""One ``TwoStreamRecognizer`` checkpoint from the RGB and flow streams' own checkpoints."""
from collections import OrderedDict
from typing import Dict, Sequence

import torch

from ..data.prep.paths import check_not_an_input
from ..engine.checkpoint import atomic_write
from ..engine.checkpoint_loading import read_state_dict
from ..models.two_stream import STREAMS


def merge_stream_checkpoints(rgb_checkpoint: str, flow_checkpoint: str,
                             out_file: str) -> Dict[str, Sequence[str]]:
    """Write one ``TwoStreamRecognizer`` checkpoint from the two streams' own checkpoints.

    ``tools/test.py CONFIG CHECKPOINT`` takes one checkpoint; this one holds the RGB
    recognizer's weights under ``rgb.`` and the flow recognizer's under ``flow.``.

    Returns:
        dict: stream name -> the keys taken from its checkpoint.
    """
    check_not_an_input(out_file, [rgb_checkpoint, flow_checkpoint], 'the merged checkpoint')
    state_dict, taken = OrderedDict(), {}
    for name, path in zip(STREAMS, (rgb_checkpoint, flow_checkpoint)):
        stream_state, _ = read_state_dict(path)
        taken[name] = list(stream_state)
        state_dict.update((f'{name}.{key}', value) for key, value in stream_state.items())
    merged = dict(state_dict=state_dict,
                  meta=dict(rgb_checkpoint=rgb_checkpoint, flow_checkpoint=flow_checkpoint))
    atomic_write(out_file, lambda temporary: torch.save(merged, temporary))
    return taken
