#!/usr/bin/env node
import { main } from './main.js';

// A reader that went away (`vmw9 9p ls … | head`) is not an error: stop quietly, as cat does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv);
