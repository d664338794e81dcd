"""Data: the embedded motion dataset, flow transforms, robust loading, clip sampling."""
from .robust import *  # noqa: F401,F403
from .epoch_sampler import FixedLengthEpochSampler  # noqa: F401
