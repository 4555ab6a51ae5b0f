/**
 * 000005: complete history.
 *
 * - `importer.run_files`: what each run did with each file it touched (loaded, failed with code and
 *   line, skipped with its reason, interrupted, resumed), one row per run and file, never
 *   overwritten: `importer.files` keeps one row per content hash whose `run_id` every claim moves.
 * - `importer.rejects.superseded_at`: a file claimed again keeps the rejects of its earlier attempt
 *   (a threshold failure says why), marked superseded instead of deleted.
 * - `importer.scheduler_heartbeats`: a scheduler daemon's liveness (up since, last beat), so that a
 *   fire left `running` by a daemon that died can be recognised and redone; the fire then names the
 *   dead daemon in `schedule_fires.recovered_from`.
 */
export default `
CREATE TABLE importer.run_files (
  id            bigserial PRIMARY KEY,
  run_id        bigint NOT NULL REFERENCES importer.runs(id) ON DELETE CASCADE,
  job_type      text NOT NULL,
  file_id       bigint REFERENCES importer.files(id) ON DELETE SET NULL,
  path          text NOT NULL,
  sha256        text,
  bytes         bigint NOT NULL DEFAULT 0,
  status        text NOT NULL,
  reason        text,
  resumed       boolean NOT NULL DEFAULT false,
  rows_loaded   bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  error_code    text,
  error         text,
  line          bigint,
  seconds       double precision,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_files_run_idx ON importer.run_files (run_id, job_type);
CREATE INDEX run_files_file_idx ON importer.run_files (file_id);

ALTER TABLE importer.rejects ADD COLUMN superseded_at timestamptz;

ALTER TABLE importer.schedule_fires ADD COLUMN recovered_from text;

CREATE TABLE importer.scheduler_heartbeats (
  daemon_id   text PRIMARY KEY,
  hostname    text NOT NULL,
  pid         integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  beat_at     timestamptz NOT NULL DEFAULT now(),
  stopped_at  timestamptz
);
`;
