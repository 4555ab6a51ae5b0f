/**
 * 000006: a batch's rejects carry only their own columns (COPY text encoded where they were found);
 * the file's columns default to settings that the batch's transaction sets (set_config(…, true)),
 * so a reject never has to be held as an object until its file is known.
 */
export default `
ALTER TABLE importer.rejects
  ALTER COLUMN run_id SET DEFAULT nullif(current_setting('importer.run_id', true), '')::bigint,
  ALTER COLUMN job_type SET DEFAULT current_setting('importer.job_type', true),
  ALTER COLUMN file_id SET DEFAULT nullif(current_setting('importer.file_id', true), '')::bigint,
  ALTER COLUMN file SET DEFAULT current_setting('importer.file', true);
`;
