"""One name for each position in the network: the paper's groups (Table 1) and the numbers
and module names MMAction2's conventions give them.

==========  ===================  =================  ===============  ==================
paper       backbone module      ``frozen_stages``  ``out_indices``  ``--layer``
==========  ===================  =================  ===============  ==================
conv1       ``conv1`` (the stem) 0 (conv1 only)     --               --
conv2_x     ``layer1``           1 (conv1, conv2)   0                conv2
conv3_x     ``layer2``           2                  1                conv3
conv4_x     ``layer3``           3                  2                conv4
conv5_x     ``layer4``           4 (all)            3                conv5
pool5       the head's pool      --                 3, then pooled   pool5
==========  ===================  =================  ===============  ==================

``frozen_stages=k`` freezes every group up to and including the one whose number is k;
-1 freezes nothing. The backbone's ``frozen_stages`` and ``out_indices`` take these names as
well as the numbers (``out_indices=('conv4', 'conv5')``, ``frozen_stages='conv3'``), and the
``_x`` of the paper may be written or left out.
"""
from typing import Dict, Sequence, Tuple, Union

#: Group name -> backbone module name.
MODULES: Dict[str, str] = {'conv1': 'conv1', 'conv2': 'layer1', 'conv3': 'layer2',
                           'conv4': 'layer3', 'conv5': 'layer4'}
#: Group name -> the ``frozen_stages`` value that freezes it and every group before it.
FROZEN_STAGES: Dict[str, int] = {name: index for index, name in enumerate(MODULES)}
#: Group name -> its ``out_indices`` number (conv1 has none: it is not a residual stage).
OUT_INDICES: Dict[str, int] = {name: index - 1 for index, name in enumerate(MODULES)
                               if index > 0}
#: Feature extraction's ``--layer`` names -> ``out_indices`` number (pool5 pools conv5).
FEATURE_LAYERS: Dict[str, int] = {'pool5': OUT_INDICES['conv5'],
                                  **dict(reversed(list(OUT_INDICES.items())))}

Position = Union[int, str]


def _group(name: str, table: Dict[str, int], what: str) -> int:
    key = name[:-2] if name.endswith('_x') else name
    if key not in table:
        raise ValueError(f'{what}: unknown position {name!r}; use one of {list(table)} '
                         f'(the paper\'s groups) or a number')
    return table[key]


def frozen_stages_index(position: Position) -> int:
    """``frozen_stages`` as a number: -1..4, or a group name (conv1..conv5)."""
    if isinstance(position, str):
        return _group(position, FROZEN_STAGES, 'frozen_stages')
    if not -1 <= position <= len(MODULES) - 1:
        raise ValueError(f'frozen_stages must be -1..{len(MODULES) - 1} or a group name, got '
                         f'{position}')
    return position


def out_indices_numbers(positions: Sequence[Position]) -> Tuple[int, ...]:
    """``out_indices`` as numbers: each 0..3, or a group name (conv2..conv5)."""
    numbers = tuple(_group(p, OUT_INDICES, 'out_indices') if isinstance(p, str) else p
                    for p in positions)
    if not numbers or not set(numbers) <= set(OUT_INDICES.values()):
        raise ValueError(f'out_indices must name stages within 0..3 (conv2..conv5), got '
                         f'{tuple(positions)}')
    return numbers
