"""The package behind the pipeline: stages, data validation, tracking, serving, monitoring."""

__version__ = "0.1.0"
