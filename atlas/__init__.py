"""The Atlas: a DuckDB + spatial catalogue of published sessions. No Prefect, no HTTP.

connection (open_atlas), migrate (versioned SQL in migrations/), ingest (register_session),
annotations (import_annotations), query (run_query), exports (export_all), darwincore,
fingerprint (content_fingerprint), etl (run log, watermark, version labels).
"""
