// next build leaves the standalone server without its static files: copy
// public/ and .next/static/ next to server.js so that it serves them itself.
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const out = path.join(root, '.next', 'standalone');
if (!existsSync(path.join(out, 'server.js'))) {
    console.error('copy-standalone: .next/standalone/server.js is missing; did next build run?');
    process.exit(1);
}
cpSync(path.join(root, 'public'), path.join(out, 'public'), { recursive: true });
cpSync(path.join(root, '.next', 'static'), path.join(out, '.next', 'static'), { recursive: true });
