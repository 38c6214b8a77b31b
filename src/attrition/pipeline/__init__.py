"""The DVC stage entry points (dvc.yaml runs them through cli.py): thin wrappers that parse paths,
call method/ and modelpkg/, and write outputs. Only cli.py imports them."""
