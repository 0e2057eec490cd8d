"""The zstd module the package itself uses: ``compression.zstd`` (3.14+) or its backport."""

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]

__all__ = ["zstd"]
