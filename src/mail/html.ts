/**
 * The HTML part of a mail, made from its text part so the two always say the same: paragraphs,
 * lists (lines starting with "- " or "・") and links (the console URL); everything else escaped.
 */
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const ITEM = /^(?:- |・)/;

const inline = (line: string) =>
  escapeHtml(line).replace(/https?:\/\/[^\s<>"']+/g, (url) => `<a href="${url}">${url}</a>`);

/** Japanese when the text holds kana or kanji (mails are rendered in the recipient's locale). */
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

export function htmlOf(text: string): string {
  const lang = JAPANESE.test(text) ? 'ja' : 'en';
  const blocks = text
    .trim()
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      const items = lines.filter((l) => ITEM.test(l));
      const lead = lines.filter((l) => !ITEM.test(l));
      const paragraph = lead.length ? `<p>${lead.map(inline).join('<br>')}</p>` : '';
      const list = items.length
        ? `<ul>${items.map((l) => `<li>${inline(l.replace(ITEM, ''))}</li>`).join('')}</ul>`
        : '';
      return paragraph + list;
    });
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"></head><body>${blocks.join('\n')}</body></html>`;
}
