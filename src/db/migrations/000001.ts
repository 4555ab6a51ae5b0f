/** 000001: the ledger (runs, job runs, files, checkpoints), rejects, and the staging schema. */
export default `
CREATE SCHEMA IF NOT EXISTS importer;
CREATE SCHEMA IF NOT EXISTS importer_staging;

CREATE TABLE importer.runs (
  id           bigserial PRIMARY KEY,
  command      text NOT NULL,
  hostname     text NOT NULL,
  pid          integer NOT NULL,
  status       text NOT NULL DEFAULT 'running',
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  error        text
);

CREATE TABLE importer.job_runs (
  id             bigserial PRIMARY KEY,
  run_id         bigint NOT NULL REFERENCES importer.runs(id) ON DELETE CASCADE,
  job_type       text NOT NULL,
  status         text NOT NULL DEFAULT 'running',
  trigger        text NOT NULL DEFAULT 'manual',
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  files_loaded   integer NOT NULL DEFAULT 0,
  files_failed   integer NOT NULL DEFAULT 0,
  files_skipped  integer NOT NULL DEFAULT 0,
  rows_loaded    bigint NOT NULL DEFAULT 0,
  rows_rejected  bigint NOT NULL DEFAULT 0,
  restarts       integer NOT NULL DEFAULT 0,
  error          text
);
CREATE INDEX job_runs_job_type_idx ON importer.job_runs (job_type, started_at DESC);

CREATE TABLE importer.files (
  id             bigserial PRIMARY KEY,
  job_type       text NOT NULL,
  path           text NOT NULL,
  size           bigint NOT NULL,
  sha256         text NOT NULL,
  status         text NOT NULL,
  run_id         bigint REFERENCES importer.runs(id) ON DELETE SET NULL,
  rows_total     bigint NOT NULL DEFAULT 0,
  rows_loaded    bigint NOT NULL DEFAULT 0,
  rows_rejected  bigint NOT NULL DEFAULT 0,
  rows_inserted  bigint NOT NULL DEFAULT 0,
  rows_updated   bigint NOT NULL DEFAULT 0,
  rows_duplicate bigint NOT NULL DEFAULT 0,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  error_code     text,
  error          text,
  UNIQUE (job_type, sha256)
);
CREATE INDEX files_run_idx ON importer.files (run_id);

CREATE TABLE importer.checkpoints (
  file_id       bigint NOT NULL REFERENCES importer.files(id) ON DELETE CASCADE,
  first_record  bigint NOT NULL,
  record_count  integer NOT NULL,
  rows          integer NOT NULL,
  rejects       integer NOT NULL,
  last_line     bigint NOT NULL,
  end_offset    bigint NOT NULL,
  run_id        bigint,
  committed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, first_record)
);

CREATE TABLE importer.rejects (
  id           bigserial PRIMARY KEY,
  run_id       bigint,
  job_type     text NOT NULL,
  file_id      bigint REFERENCES importer.files(id) ON DELETE CASCADE,
  file         text NOT NULL,
  line         bigint NOT NULL,
  byte_offset  bigint NOT NULL,
  record       text NOT NULL,
  column_name  text,
  code         text NOT NULL,
  message      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejects_job_type_idx ON importer.rejects (job_type, run_id);
CREATE INDEX rejects_file_idx ON importer.rejects (file_id);
`;
