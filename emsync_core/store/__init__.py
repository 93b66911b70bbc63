"""URIs (local paths and gs://), listing, atomic writes and Parquet schemas."""
