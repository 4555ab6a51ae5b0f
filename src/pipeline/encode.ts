/** The encode stage's helper for text values: was an empty field written as a quoted "" (not NULL)? */

/**
 * Whether field `index` of a raw CSV record was written as a quoted empty string ("").
 * Only asked for empty text values, so a small scan of the raw record is cheap enough.
 */
export function isQuotedEmptyField(raw: string, index: number, delimiter: string, quote: string): boolean {
  let field = 0;
  let i = 0;
  while (i <= raw.length) {
    const start = i;
    if (raw[i] === quote) {
      // Skip a quoted field, honouring doubled quotes.
      i++;
      while (i < raw.length) {
        if (raw[i] === quote) {
          if (raw[i + 1] === quote) i += 2;
          else break;
        } else i++;
      }
      i++;
      if (field === index) return i - start === 2;
    } else if (field === index) {
      return false;
    }
    while (i < raw.length && raw[i] !== delimiter) i++;
    field++;
    i++;
  }
  return false;
}
