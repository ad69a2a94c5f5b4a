#!/usr/bin/env node
// Build the canvas demo into examples/canvas/dist unless it is built from exactly the current
// inputs (its sources and config, and the built @skein/client and @skein/protocol it bundles).
// The work is scripts/build-app-if-needed.mjs.
//
//   node examples/canvas/scripts/build-if-needed.mjs [--force] [--quiet]
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfNeeded } from '../../../scripts/build-app-if-needed.mjs';

buildIfNeeded({ name: 'canvas', dir: dirname(dirname(fileURLToPath(import.meta.url))), bundles: ['client-sdk', 'protocol'] });
