/** 000002: scheduled fires, one row per (job type, fire time) across every scheduler instance. */
export default `
CREATE TABLE importer.schedule_fires (
  job_type     text NOT NULL,
  fire_at      timestamptz NOT NULL,
  reason       text NOT NULL DEFAULT 'scheduled',
  instance     text NOT NULL,
  status       text NOT NULL DEFAULT 'running',
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  restarts     integer NOT NULL DEFAULT 0,
  exit_code    integer,
  error        text,
  PRIMARY KEY (job_type, fire_at)
);
`;
