"""Ground-floor helpers with no knowledge of judging: JSON, JSONL (atomic writes), optional
dependencies and the cyclic-GC pause."""
