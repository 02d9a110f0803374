/**
 * Entry point. A packaged app carries the Python runtime in its resources: say so
 * before the Engine's modules read where it is, then start the app.
 */
import { join } from 'node:path';
import { app } from 'electron';

if (app.isPackaged) process.env.HEADROOM_RUNTIME_DIR ??= join(process.resourcesPath, 'python-runtime');
await import('./app.js');
