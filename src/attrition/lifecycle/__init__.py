"""The model lifecycle after the pipeline: lineage, the GTO registry, the promotion gate, deployment,
per-version experiments and plots. May import modelpkg/, method/ and the base; never a stage or service."""
