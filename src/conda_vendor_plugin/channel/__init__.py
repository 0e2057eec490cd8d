"""The repodata gateway: repodata.json and CEP 16 shards fetched and cached,
original entries found, the cache swept."""
