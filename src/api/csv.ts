/** RFC 4180 CSV: CRLF line ends, fields quoted when they hold a quote, comma, CR or LF. */
export type CsvValue = string | number | boolean | null | undefined;

// A cell a spreadsheet would run as a formula (=, @, +, -, tab, CR) gets a leading apostrophe
// (OWASP "CSV injection"), except plain numbers and phone numbers such as "+81 3-1234-5678".
const FORMULA = /^[=@+\-\t\r]/;
const NUMBERLIKE = /^[+-]?[\d\s().-]*\d[\d\s().-]*$/;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA.test(text) && !NUMBERLIKE.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as CSV lines (for a stream that sends the header first). */
export function csvLines(rows: readonly (readonly CsvValue[])[]): string {
  return rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}
