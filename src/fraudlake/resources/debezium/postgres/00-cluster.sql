-- Cluster level: the application role, Debezium's replication role and the database.
-- Run by a superuser with psql variables (never literals, so no password lives here):
--   psql -v app_user=… -v app_password=… -v app_db=… -v debezium_user=… -v debezium_password=…
-- Idempotent: every statement checks first, and passwords are re-set from .env each run.

SELECT format('CREATE ROLE %I LOGIN', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password') \gexec

-- Debezium reads the WAL and snapshots one table: REPLICATION and SELECT, nothing more.
SELECT format('CREATE ROLE %I LOGIN REPLICATION', :'debezium_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'debezium_user') \gexec
SELECT format('ALTER ROLE %I LOGIN REPLICATION PASSWORD %L', :'debezium_user', :'debezium_password') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
