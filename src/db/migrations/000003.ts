/** 000003: where the record after each checkpoint starts, so that a resumed load seeks past its committed part. */
export default `
ALTER TABLE importer.checkpoints ADD COLUMN next_line bigint;
`;
