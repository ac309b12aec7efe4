#!/usr/bin/env node
// `npx scenecast …`: registers tsx, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/scenecast.ts');
