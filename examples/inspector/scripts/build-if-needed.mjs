#!/usr/bin/env node
// Build the inspector into examples/inspector/dist unless it is built from exactly the current
// inputs (its sources and config; it bundles no workspace package).
// The work is scripts/build-app-if-needed.mjs.
//
//   node examples/inspector/scripts/build-if-needed.mjs [--force] [--quiet]
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfNeeded } from '../../../scripts/build-app-if-needed.mjs';

buildIfNeeded({ name: 'inspector', dir: dirname(dirname(fileURLToPath(import.meta.url))), bundles: [] });
