"""Running the judge over files: ``judge run`` (manifests, resume) and Ray sharding."""
