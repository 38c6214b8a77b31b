"""The model package format: metadata, manifest, the NumPy scorer of model.json, the monitoring
reference and its verification. May import method/ and the base; never a stage, lifecycle or service."""
