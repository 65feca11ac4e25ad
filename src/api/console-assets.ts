/**
 * The console's files (src/console): `npm run build` writes them to dist/console/, beside the
 * compiled API, which serves them as they are; run from source (tsx), the API bundles them once
 * with esbuild at the first request instead.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface ConsoleFile {
  type: string;
  body: Buffer;
}
/** By name: `index.html`, `app.js`, `app.css`. */
export type ConsoleFiles = ReadonlyMap<string, ConsoleFile>;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};
const typeOf = (name: string) => TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';

const SOURCE = fileURLToPath(new URL('../console/', import.meta.url));
const PREBUILT = fileURLToPath(new URL('./console/', import.meta.url));

/** esbuild's options for the console, shared by the API (from source) and `npm run build`. */
export const CONSOLE_BUILD: import('esbuild').BuildOptions = {
  entryPoints: { app: `${SOURCE}main.tsx` },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
};
export const CONSOLE_INDEX = `${SOURCE}index.html`;

let loading: Promise<ConsoleFiles> | undefined;

export function consoleFiles(): Promise<ConsoleFiles> {
  loading ??= (existsSync(`${PREBUILT}index.html`) ? readPrebuilt() : bundleFromSource()).catch((error) => {
    loading = undefined; // a later request tries again
    throw error;
  });
  return loading;
}

async function readPrebuilt(): Promise<ConsoleFiles> {
  const files = new Map<string, ConsoleFile>();
  for (const name of await readdir(PREBUILT)) {
    files.set(name, { type: typeOf(name), body: await readFile(`${PREBUILT}${name}`) });
  }
  return files;
}

async function bundleFromSource(): Promise<ConsoleFiles> {
  // esbuild is a development dependency: a production image serves the prebuilt files instead.
  const { build } = await import('esbuild');
  const result = await build({ ...CONSOLE_BUILD, write: false, outdir: '/console' });
  const files = new Map<string, ConsoleFile>([
    ['index.html', { type: typeOf('index.html'), body: await readFile(CONSOLE_INDEX) }],
  ]);
  for (const file of result.outputFiles ?? []) {
    const name = file.path.split('/').pop() ?? file.path;
    files.set(name, { type: typeOf(name), body: Buffer.from(file.contents) });
  }
  return files;
}
