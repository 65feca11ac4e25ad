/**
 * The console's words in English and Japanese. The language comes from the browser's and can be
 * switched; the choice is kept in this browser. `{name}` placeholders are filled by `t`.
 */
import { signal } from './state';
import { en, type Key } from './words-en';
import { ja } from './words-ja';

export type { Key };

export type Lang = 'en' | 'ja';
const LANG_KEY = 'handover.lang';
const DICTIONARIES: Record<Lang, Record<Key, string>> = { en, ja };

function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === 'en' || saved === 'ja') return saved;
  return navigator.languages.some((l) => l.toLowerCase().startsWith('ja')) &&
    !navigator.languages[0]?.toLowerCase().startsWith('en')
    ? 'ja'
    : 'en';
}

export const lang = signal<Lang>(initialLang());

export function setLang(next: Lang) {
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next;
  lang.set(next);
}

export function t(key: Key, params: Record<string, string | number> = {}): string {
  return DICTIONARIES[lang.get()][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A time in the reader's language and time zone. */
export const time = (iso: string | null | undefined) =>
  iso
    ? new Date(iso).toLocaleString(lang.get() === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' })
    : '—';
