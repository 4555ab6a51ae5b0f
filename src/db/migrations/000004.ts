/**
 * 000004: rows the target refused in the final move (a constraint, a value too long) become rejects
 * of their own: the file counts them apart from its checkpoints, and a reject names the constraint.
 */
export default `
ALTER TABLE importer.files ADD COLUMN rows_refused bigint NOT NULL DEFAULT 0;
ALTER TABLE importer.rejects ADD COLUMN constraint_name text;
`;
