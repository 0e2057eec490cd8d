"""``pip:`` requirements: resolved per target platform with pip's own resolver
(:mod:`.resolve`), frozen as wheel records (:mod:`.records`)."""
