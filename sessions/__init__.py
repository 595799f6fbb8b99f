"""A survey session on disk: names, platform rules, layout checks, archive plans, Zenodo metadata.

Pure logic (files in, archives and metadata out): no HTTP, no Prefect; only `zenodo.models` is shared.
"""
