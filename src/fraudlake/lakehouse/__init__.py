"""The lakehouse: the CDC topic as Delta tables on MinIO (bronze, silver, gold)."""
