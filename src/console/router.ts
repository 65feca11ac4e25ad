/** Pages are paths under /console; the API serves the same page for each, and this picks what to show. */
import { signal } from './state';

export const BASE = '/console';
export const path = signal(location.pathname.replace(/\/+$/, '') || BASE);

export function navigate(to: string) {
  if (to === path.get()) return;
  history.pushState(null, '', to);
  path.set(to);
  window.scrollTo(0, 0);
}
window.addEventListener('popstate', () => path.set(location.pathname));

/** Same-origin console links move without a reload; anything else (new tab, Temporal UI) as usual. */
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || link.target) return;
  event.preventDefault();
  navigate(url.pathname);
});

/** `/console/agents/:id` → `{id}` when `pattern` matches the current path. */
export function match(pattern: string, current: string): Record<string, string> | undefined {
  const names: string[] = [];
  const regex = new RegExp(
    `^${BASE}${pattern.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    })}$`,
  );
  const found = current.match(regex);
  if (!found) return undefined;
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1] ?? '')]));
}

export const href = (...parts: string[]) => `${BASE}/${parts.map(encodeURIComponent).join('/')}`;
