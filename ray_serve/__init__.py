"""Thin Ray adapters: Parquet -> actor pools (classify, generate) -> render -> outputs + DB; the Serve app."""
