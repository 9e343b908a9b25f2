"""Minimal stub of huggingface_hub for running FoundationVision/VAR models/ offline.

models/var.py does `from huggingface_hub import PyTorchModelHubMixin` at module level
(only used by the VARHF class, which this benchmark never instantiates).
"""


class PyTorchModelHubMixin:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__()
