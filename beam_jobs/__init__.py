"""Thin Beam adapters: catalog -> shards -> probe/decode -> cuts + features -> Parquet."""
