-- The fraudlake database: tables, indexes, Debezium's grants and publication.
-- Run by a superuser connected to the fraudlake database, with psql variables
--   -v app_user=… -v debezium_user=… -v publication=…
-- Idempotent. Tables are created as the application role, so it owns them.

SELECT format('SET ROLE %I', :'app_user') \gexec

-- The 22 columns of the Kaggle fraudTrain.csv, in its order (fraudlake.schema).
CREATE TABLE IF NOT EXISTS transactions (
    trans_date_trans_time timestamp        NOT NULL,
    cc_num                bigint           NOT NULL,
    merchant              text             NOT NULL,
    category              text             NOT NULL,
    amt                   numeric(12, 2)   NOT NULL,
    first                 text             NOT NULL,
    last                  text             NOT NULL,
    gender                text             NOT NULL,
    street                text             NOT NULL,
    city                  text             NOT NULL,
    state                 text             NOT NULL,
    zip                   integer          NOT NULL,
    lat                   double precision NOT NULL,
    long                  double precision NOT NULL,
    city_pop              integer          NOT NULL,
    job                   text             NOT NULL,
    dob                   date             NOT NULL,
    trans_num             text             PRIMARY KEY,
    unix_time             bigint           NOT NULL,
    merch_lat             double precision NOT NULL,
    merch_long            double precision NOT NULL,
    is_fraud              smallint         NOT NULL CHECK (is_fraud IN (0, 1)),
    -- When the row was committed here: the start of the commit-to-prediction latency.
    created_at            timestamptz      NOT NULL DEFAULT now()
);

-- A card's recent history, for the model's per-card features.
CREATE INDEX IF NOT EXISTS transactions_card_time_idx ON transactions (cc_num, trans_date_trans_time);

-- Transactions committed today and in the last hour, for the dashboard.
CREATE INDEX IF NOT EXISTS transactions_created_at_idx ON transactions (created_at);

-- Rows the producer refused, with why; a rerun of the same file does not add them twice.
CREATE TABLE IF NOT EXISTS transactions_quarantine (
    id             bigserial   PRIMARY KEY,
    source         text        NOT NULL,
    line_number    bigint      NOT NULL,
    raw_line       text        NOT NULL,
    reason         text        NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, line_number)
);

-- One prediction per transaction, written idempotently (ON CONFLICT DO NOTHING) by
-- the prediction job, which is its only writer.
CREATE TABLE IF NOT EXISTS fraud_predictions (
    trans_num              text             PRIMARY KEY,
    fraud_probability      double precision NOT NULL CHECK (fraud_probability BETWEEN 0 AND 1),
    is_fraud_predicted     boolean          NOT NULL,
    risk_level             text             NOT NULL CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH')),
    model_version          text             NOT NULL,
    transaction_created_at timestamptz,      -- transactions.created_at, carried through CDC
    source_lsn             bigint,           -- Debezium's LSN of the change that was scored
    predicted_at           timestamptz      NOT NULL DEFAULT now()
);
-- Added after the first release; IF NOT EXISTS upgrades an older database in place.
-- `id` orders rows by insertion, so the Delta copy (gold/fraud_predictions) takes
-- what is new by "id above the highest copied", exactly once.
ALTER TABLE fraud_predictions ADD COLUMN IF NOT EXISTS id bigserial;
ALTER TABLE fraud_predictions ADD COLUMN IF NOT EXISTS top_features jsonb NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX IF NOT EXISTS fraud_predictions_id_idx ON fraud_predictions (id);

-- The dashboard's time windows (fraudlake.dashboard.queries): predictions by time,
-- and predicted frauds alone, a small share, so fraud figures never read legitimate rows.
CREATE INDEX IF NOT EXISTS fraud_predictions_predicted_at_idx ON fraud_predictions (predicted_at);
CREATE INDEX IF NOT EXISTS fraud_predictions_fraud_predicted_at_idx ON fraud_predictions (predicted_at)
    WHERE is_fraud_predicted;

-- Transactions the prediction API refused (422), with its reason; the rest of their
-- batch is scored. One row per transaction, so a replayed batch adds nothing.
CREATE TABLE IF NOT EXISTS fraud_predictions_quarantine (
    trans_num      text        PRIMARY KEY,
    payload        jsonb       NOT NULL,
    reason         text        NOT NULL,
    source_lsn     bigint,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);

-- The alert ledger: one row per alerted transaction, so a replayed batch alerts nobody twice.
CREATE TABLE IF NOT EXISTS fraud_alerts (
    trans_num   text        PRIMARY KEY REFERENCES fraud_predictions (trans_num),
    risk_level  text        NOT NULL CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH')),
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'disabled')),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- The sender's queue: pending alerts, HIGH first.
CREATE INDEX IF NOT EXISTS fraud_alerts_pending_idx ON fraud_alerts (created_at) WHERE status = 'pending';
-- The dashboard's live table: the latest alerts, whatever their status.
CREATE INDEX IF NOT EXISTS fraud_alerts_created_at_idx ON fraud_alerts (created_at);

-- The streaming jobs' last progress per query (Spark's StreamingQueryProgress as
-- JSON), read by `make status`, the restart script and the dashboard.
CREATE TABLE IF NOT EXISTS streaming_progress (
    job        text        NOT NULL,
    query      text        NOT NULL,
    pid        integer     NOT NULL,
    batch_id   bigint,
    state      text        NOT NULL CHECK (state IN ('running', 'failed', 'stopped')),
    error      text,
    progress   jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, query)
);

-- Debezium's heartbeat writes one row here (the connector's heartbeat.action.query).
-- The jobs write far more WAL (predictions, progress) than `transactions` gets when
-- the feed is quiet, and Debezium can only confirm a WAL position to the slot after a
-- change of a published table: without this row the slot would hold that WAL until
-- the next transaction arrives.
-- The data-quality checks' ledger (`fraudlake quality check`): one row per check, so a
-- check that keeps failing alerts Slack once, when it starts failing, not every run.
CREATE TABLE IF NOT EXISTS quality_alerts (
    check_name    text        PRIMARY KEY,
    status        text        NOT NULL CHECK (status IN ('ok', 'failing')),
    detail        text,
    failing_since timestamptz,
    checked_at    timestamptz NOT NULL DEFAULT now(),
    alerted_at    timestamptz,  -- NULL while failing: Slack has not taken the alert yet (retried next run)
    last_error    text
);

-- Table sizes and file counts of the lakehouse, one row per table per upkeep run.
CREATE TABLE IF NOT EXISTS lakehouse_table_stats (
    recorded_at timestamptz NOT NULL DEFAULT now(),
    table_name  text        NOT NULL,
    version     bigint      NOT NULL,
    files       bigint      NOT NULL,
    bytes       bigint      NOT NULL,
    rows        bigint      NOT NULL,
    PRIMARY KEY (table_name, recorded_at)
);

CREATE TABLE IF NOT EXISTS debezium_heartbeat (
    id      integer     PRIMARY KEY CHECK (id = 1),
    beat_at timestamptz NOT NULL
);

-- Debezium's publication holds `transactions` and the heartbeat (which the connector
-- receives but does not capture: table.include.list); the connector does not create
-- it (publication.autocreate.mode=disabled), so its role needs no ownership.
SELECT format('CREATE PUBLICATION %I FOR TABLE transactions, debezium_heartbeat', :'publication')
WHERE NOT EXISTS (SELECT FROM pg_publication WHERE pubname = :'publication') \gexec
SELECT format('ALTER PUBLICATION %I ADD TABLE debezium_heartbeat', :'publication')
WHERE NOT EXISTS (SELECT FROM pg_publication_tables
                  WHERE pubname = :'publication' AND tablename = 'debezium_heartbeat') \gexec

RESET ROLE;

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'debezium_user') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'debezium_user') \gexec
SELECT format('GRANT SELECT ON transactions TO %I', :'debezium_user') \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE ON debezium_heartbeat TO %I', :'debezium_user') \gexec
