"""deepresearch-local: the Tongyi DeepResearch agent on your own machine."""

__version__ = "0.1.0"
