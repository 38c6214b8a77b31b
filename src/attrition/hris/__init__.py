"""A simulated HRIS: what a company's HR system would export over time, drawn from the seed generator.

The feature store (attrition.features) ingests these exports; this package only writes them. The
format is documented in :mod:`attrition.hris.simulate`. May import the method and base layers only.
"""
