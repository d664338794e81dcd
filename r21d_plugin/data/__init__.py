"""Data: the embedded motion dataset, flow transforms, robust loading, clip sampling."""
from .epoch_sampler import FixedLengthEpochSampler  # noqa: F401
