#!/usr/bin/env node
// Package bin: run the TypeScript CLI through tsx (mlplane runs from source; see README).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./mlplane.ts');
process.exitCode = await main(process.argv.slice(2));
