"""What a checkpoint source provides: reading its files and its naming table."""
from typing import Dict, Optional, Tuple

import torch

from .layout import NetworkSpec, Position


class CheckpointSource:
    """A family of published checkpoints that share one file format and one naming.

    Subclasses set the class attributes and implement the three methods; the converter
    does the rest (architecture inference, key and shape checks, writing).

    Attributes:
        name: the ``--source`` name.
        norm_eps: BN epsilon the source's models run with. Checkpoints do not store it,
            and a wrong one changes every output, so the source fixes it.
        mid_channels_rule: the (2+1)D mid-channel rule of the source's models.
        archs: the ``--arch`` names this source publishes; None for every name.
    """

    name: str = ''
    norm_eps: float = 1e-5
    mid_channels_rule: str = 'per_conv'
    archs: Optional[Tuple[str, ...]] = None

    def read(self, path: str) -> Dict[str, torch.Tensor]:
        """Load a checkpoint file safely as a flat name -> tensor dict."""
        raise NotImplementedError

    def num_classes(self, tensors: Dict[str, torch.Tensor]) -> Optional[int]:
        """Outputs of the checkpoint's fc, or None if it has no recognisable fc."""
        raise NotImplementedError

    def module_name(self, position: Position, spec: NetworkSpec) -> str:
        """The source's name for the layer at ``position`` (the naming table)."""
        raise NotImplementedError

    def param_key(self, module: str, kind: str, param: str) -> Optional[str]:
        """The source key of one of our ``param`` names of a ``kind`` layer, or None
        where the source does not store that tensor."""
        raise NotImplementedError
