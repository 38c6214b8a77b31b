"""Reproducible employee-attrition prediction: DVC pipeline, verified model package, service."""

__version__ = "0.1.0"
