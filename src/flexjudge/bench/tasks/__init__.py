"""One module per benchmark; each registers itself with :func:`flexjudge.bench._registry.register`
where it is defined."""
