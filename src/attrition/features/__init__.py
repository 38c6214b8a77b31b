"""The feature store: HRIS extracts into a Delta Lake table, point-in-time training sets, online features.

Public functions (pure apart from the store they read or write):

- :func:`attrition.features.extract.read_extract` / ``extract_from_frame``: a checked extract;
- :func:`attrition.features.store.refresh`: apply one extract to the store (idempotent);
- :func:`attrition.features.training.training_set`: labelled rows, point-in-time correct;
- :func:`attrition.features.materialize.materialize` and :class:`attrition.features.online.OnlineStore`:
  every employee's current features (a gzip-compressed JSON file), looked up by id in memory.

Only ``online`` is needed to serve; it imports the standard library alone (no deltalake, DuckDB,
pyarrow, numpy or pandas). May import the method and base layers, never a stage or the service.
"""
