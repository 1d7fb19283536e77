/** Escapes text for HTML and SVG element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Escapes text for one Markdown table cell in a GitHub comment: HTML is escaped (GitHub renders
 * raw HTML in Markdown), pipes and backslashes are escaped, line breaks become spaces, and
 * Markdown emphasis and link syntax is neutralised.
 */
export function escapeMarkdown(value: unknown): string {
  const text = String(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/([*_`[\]~|])/g, '\\$1')
    .replace(/\r?\n|\r/g, ' ');
  return escapeHtml(text);
}

/**
 * Text as Markdown inline code in a table cell: backticks inside become quotes, pipes are escaped;
 * HTML needs no escaping (GitHub shows code spans literally).
 */
export function markdownCode(value: unknown): string {
  const text = String(value ?? '').replace(/`/g, "'").replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
  return `\`${text}\``;
}
