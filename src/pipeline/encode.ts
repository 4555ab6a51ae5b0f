/** The encode stage's helper for text values: was a field written in quotes (so "" is not NULL, and its blanks are kept)? */

/**
 * Whether field `index` of a raw CSV record was written in quotes: -1 if not, else the length of
 * what stands between its quotes (0 for a quoted empty string ""). An escape other than the quote
 * escapes the next character inside quotes. Only asked for empty or trimmed text values, so a small
 * scan of the raw record is cheap enough.
 */
export function quotedFieldLength(raw: string, index: number, delimiter: string, quote: string, escape: string = quote): number {
  let field = 0;
  let i = 0;
  while (i <= raw.length) {
    const start = i;
    if (raw[i] === quote) {
      // Skip a quoted field, honouring doubled quotes or the escape.
      i++;
      while (i < raw.length) {
        if (escape !== quote && raw[i] === escape) i += 2;
        else if (raw[i] === quote) {
          if (escape === quote && raw[i + 1] === quote) i += 2;
          else break;
        } else i++;
      }
      i++;
      if (field === index) return i - start - 2;
    } else if (field === index) {
      return -1;
    }
    while (i < raw.length && raw[i] !== delimiter) i++;
    field++;
    i++;
  }
  return -1;
}

/** Whether field `index` of a raw CSV record was written as a quoted empty string (""). */
export function isQuotedEmptyField(raw: string, index: number, delimiter: string, quote: string, escape: string = quote): boolean {
  return quotedFieldLength(raw, index, delimiter, quote, escape) === 0;
}
