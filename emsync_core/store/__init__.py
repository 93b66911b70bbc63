"""URIs (local paths and object stores: gs://, s3://, az://), listing, atomic writes and Parquet schemas."""
