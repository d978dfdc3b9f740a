"""What the two Spark Structured Streaming jobs share: the CDC topic as a Spark
source, Debezium events decoded in Spark, progress reporting and the job runner."""
