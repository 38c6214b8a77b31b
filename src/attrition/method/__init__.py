"""The model method: pure functions the stages, the bench and the monitor call (fitting, selection,
calibration, confidence, curves, PSI, the synthetic generator). May import only the base modules
(params, dataset, atomic, provenance, canonical); never a stage, the package format or a service."""
