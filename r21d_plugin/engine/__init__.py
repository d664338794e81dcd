"""Engine: launching (CPU distributed included), hooks and safe checkpoints."""
from .checkpoint import AtomicCheckpointHook, EpochSeedHook  # noqa: F401
from .checkpoint_loading import (UnreadableCheckpointError, UntrustedCheckpointError,  # noqa: F401
                                 load_checkpoint_file)
from .non_finite import NonFiniteLossHook  # noqa: F401
from .preemption import PreemptionHook  # noqa: F401
from .progress import ProgressBarHook  # noqa: F401
