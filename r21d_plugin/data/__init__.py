"""Data: the embedded motion dataset, flow transforms, robust loading, clip sampling."""
