import { describe, expect, test } from 'vitest';
import { htmlOf } from '../../src/mail/html';
import { renderMail } from '../../src/mail/templates';

describe('the HTML part of a mail', () => {
  test('says what the text says: paragraphs, list items, the link; in the text’s language', () => {
    const { text } = renderMail('handover-blocked', 'en', {
      actor: 'Aiko',
      agent: 'Xavier Sato',
      leadSources: ['SUUMO portal', 'HOMES portal'],
      link: 'http://127.0.0.1:3000/console/handovers/h-1',
    });
    const html = htmlOf(text);
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<li>SUUMO portal</li><li>HOMES portal</li>');
    expect(html).toContain(
      '<a href="http://127.0.0.1:3000/console/handovers/h-1">http://127.0.0.1:3000/console/handovers/h-1</a>',
    );
    const ja = renderMail('customers-assigned', 'ja', {
      actor: '佐藤',
      agent: '伊藤',
      count: 3,
      link: 'http://x/console',
    });
    expect(htmlOf(ja.text)).toContain('<html lang="ja">');
  });

  test('escapes whatever a name holds', () => {
    const { text } = renderMail('handover-finished', 'en', {
      actor: '<script>alert(1)</script>',
      agent: 'O\'Brien & "Sons"',
      outcome: 'completed',
      link: 'http://127.0.0.1:3000/console/handovers/h-2',
    });
    const html = htmlOf(text);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('O&#39;Brien &amp; &quot;Sons&quot;');
  });
});
