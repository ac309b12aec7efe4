/**
 * The engine's public entry: what the server, the CLI and the benchmarks use. Everything else
 * under engine/ (pipeline/, worker/, bundle/) is the engine's own business.
 */
export { DEFAULT_BUNDLE, EnginePool, type EnginePoolOptions, type GenerateRequest } from './engine-pool.js';
export { loadBundle, type Bundle, type ProfileName } from './bundle/manifest.js';
export { abortError, contextOf, type GeneratedFrame, type ShotSpec } from './pipeline/generate.js';
export { frameCount } from './pipeline/windows.js';
export { LruCache } from './pipeline/lru.js';
export { chainKeys, keyedShots, resolveShot, shotKey, shotSeed, tailKey, type ResolvedShot } from './shot-spec.js';
export type { BundleInfo, JobStats } from './worker/protocol.js';
export { PromptReader, type Reading, type ReaderLexicon } from './bundle/reader.js';
