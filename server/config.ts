/**
 * Configuration from the environment, validated once at start. Every field has a default that
 * works for the embedded mode (`npm start` with nothing set).
 */
import path from 'node:path';
import { z } from 'zod';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

const EnvSchema = z.object({
  PORT: int(8080),
  HOST: z.string().default('0.0.0.0'),
  /** Where rooms, logs, snapshots, renders and caches live. */
  DATA_DIR: z.string().default('./data'),
  /** HMAC key for room tokens; generated and kept in DATA_DIR/secret when unset. */
  SCENECAST_SECRET: z.string().min(16).optional(),
  /** Base of the share links in POST /api/rooms (default: from the request's Host header). */
  PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest WebSocket message accepted (bytes); bigger ones close the connection with 1009. */
  MAX_MESSAGE_BYTES: int(2 * 1024 * 1024),
  /** Rooms held in memory at once; idle ones are unloaded first, then new rooms get 4503. */
  MAX_ROOMS_LOADED: int(1000),
  /** A room with no connection is unloaded (compacted to a snapshot) after this long (ms). */
  ROOM_IDLE_MS: int(30_000),
  /** Log bytes that trigger a compaction to a snapshot. */
  COMPACT_BYTES: int(512 * 1024),
  /** `always`: fan out an update only after fdatasync (group commit); `never`: after write(2) only. */
  PERSIST_FSYNC: z.enum(['always', 'never']).default('always'),
  /** Least time between two fan-outs of one room, per 200 peers in it (ms): a busy room merges what came meanwhile. */
  FANOUT_COALESCE_MS: int(4),
  /** Awareness (cursor) updates relayed per client per second; faster ones are coalesced. */
  AWARENESS_RATE: int(10),
  /** Outgoing bytes buffered for one Yjs connection before it is closed as too slow (1013). */
  MAX_BUFFERED_BYTES: int(8 * 1024 * 1024),
  /** Largest a room's document may grow (bytes); the update that would pass it is refused (close 4413) and not stored. */
  MAX_DOC_BYTES: int(4 * 1024 * 1024),
  /** Largest awareness state one client may publish (bytes of JSON); bigger ones are dropped. */
  AWARENESS_MAX_BYTES: int(4096),
  /** Open WebSocket and Socket.IO connections per client address on one node; more get 429 / close 4429. */
  MAX_CONNECTIONS_PER_IP: int(200),
  /** Behind a reverse proxy: `true` (trust X-Forwarded-For from anyone) or the proxies' addresses/CIDRs (`loopback`, `10.0.0.0/8`, …). Default: the socket's address. */
  TRUST_PROXY: z.string().optional(),
  /** Model bundle folder (default engine/models/shapes-v1). */
  ENGINE_BUNDLE: z.string().optional(),
  /** Engine worker threads; 0 turns the engine off (no previews or renders). Default: 2 (1 on one core). */
  ENGINE_WORKERS: z.coerce.number().int().nonnegative().optional(),
  /** onnxruntime intra-op threads per worker (default: cores / workers). */
  ENGINE_THREADS: z.coerce.number().int().positive().optional(),
  /** `cpu` (default) or `cuda` (needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12). */
  ENGINE_DEVICE: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Quiet time after an edit before its preview starts (ms). */
  PREVIEW_DEBOUNCE_MS: int(60),
  /** Longest a burst of edits may delay a preview (ms). */
  PREVIEW_MAX_WAIT_MS: int(300),
  /** Preview jobs waiting on the whole service; more get `preview:state refused PREVIEW_QUEUE_FULL`. */
  PREVIEW_QUEUE_MAX: int(64),
  /** JPEG quality of preview frames (1-100). */
  PREVIEW_JPEG_QUALITY: z.coerce.number().int().min(1).max(100).default(80),
  /** Rooms one client (IP) may create: a burst of this many, then … */
  ROOM_CREATE_BURST: int(10),
  /** … this many an hour (counted in Redis when scaled out, so the limit holds across nodes). */
  ROOMS_PER_HOUR: int(60),
  /** Audience suggestions per client: a burst of this many, then … */
  SUGGESTION_BURST: int(3),
  /** Votes one client may cast in a room: a burst, then this many a minute. */
  VOTE_BURST: int(10),
  VOTES_PER_MINUTE: int(30),
  /** … this many a minute. */
  SUGGESTIONS_PER_MINUTE: int(6),
  /** Scale-out: Redis for documents, pub/sub, Socket.IO and jobs (unset = embedded, one process). */
  REDIS_URL: z.string().url().optional(),
  /** Prefix of every Redis key and channel (one cluster per prefix; tests use one each). */
  REDIS_PREFIX: z.string().regex(/^[\w:.-]*$/).default('scenecast:'),
  /** Scale-out: a room's stream entries are kept at least this long after a snapshot covers them (ms), for nodes that have not read them yet. */
  STREAM_MIN_LIFETIME_MS: int(60_000),
  /** Scale-out: PostgreSQL for document snapshots (else BLOB_DIR/snapshots). */
  DATABASE_URL: z.string().optional(),
  /** Where cached shots and finished clips go in scale-out (a directory every node and worker shares). */
  BLOB_DIR: z.string().optional(),
  /** Renders in progress at once (at most one per room); they share the engine shot by shot, rooms in turn. */
  RENDER_CONCURRENCY: int(4),
  /** Renders a room may have waiting behind its running one; more get 429 RENDER_QUEUE_FULL. */
  RENDER_ROOM_QUEUE: int(2),
  /** Renders waiting or running on the whole service (all rooms); more get 429 RENDER_QUEUE_FULL. */
  RENDER_QUEUE_MAX: int(32),
  /** Frames one render may make (sum over its shots of duration × fps); more get 422 RENDER_TOO_LONG. */
  MAX_RENDER_FRAMES: int(2400),
  /** Shots of one render generated at once (2 uses both engine workers; previews then wait longer). */
  RENDER_SHOT_PARALLELISM: int(2),
  /** Bytes of encoded shots kept for fast re-renders. */
  SHOT_CACHE_BYTES: int(2 * 1024 ** 3),
  /** Hours a finished render is kept before it is removed. */
  RENDER_TTL_HOURS: z.coerce.number().positive().default(24),
  /** Bytes of finished renders kept in all; the oldest go first beyond it. */
  RENDERS_MAX_BYTES: int(5 * 1024 ** 3),
  /** Largest audio file an editor may upload as music (bytes); bigger ones get 413 ASSET_TOO_LARGE. */
  ASSET_MAX_BYTES: int(20 * 1024 * 1024),
  /** Bytes of spoken narration kept (offline TTS, by voice and text; LRU). */
  TTS_CACHE_BYTES: int(128 * 1024 * 1024),
  /** Bytes of post-production parts kept for fast re-finishing (video pieces with captions or transitions, soundtracks; LRU). */
  POST_CACHE_BYTES: int(1024 ** 3),
  /** Synthesise the bundled music beds in the background at start (1), or when first used (0). */
  MUSIC_BEDS_AT_START: z.enum(['0', '1']).default('1'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  secret: string | undefined;
  publicUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  maxMessageBytes: number;
  maxRoomsLoaded: number;
  roomIdleMs: number;
  compactBytes: number;
  fsync: Env['PERSIST_FSYNC'];
  awarenessRate: number;
  coalesceMs: number;
  maxBufferedBytes: number;
  maxDocBytes: number;
  awarenessMaxBytes: number;
  maxConnectionsPerIp: number;
  /** Fastify's trustProxy setting (false: the socket's address is the client's). */
  trustProxy: boolean | string;
  engine: { bundleDir: string | undefined; workers: number | undefined; threads: number | undefined; device: 'cpu' | 'cuda' };
  preview: { debounceMs: number; maxWaitMs: number; jpegQuality: number; queueMax: number };
  render: { concurrency: number; parallel: number; cacheBytes: number; ttlMs: number; roomQueue: number; queueMax: number; maxFrames: number; maxBytes: number };
  post: { assetMaxBytes: number; ttsCacheBytes: number; cacheBytes: number; bedsAtStart: boolean };
  suggestions: { burst: number; perMinute: number };
  votes: { burst: number; perMinute: number };
  roomCreation: { burst: number; perMinute: number };
  /** Set in scale-out mode. */
  redis: { url: string; prefix: string; streamMinLifetimeMs: number } | null;
  databaseUrl: string | undefined;
  blobDir: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    secret: e.SCENECAST_SECRET,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    maxMessageBytes: e.MAX_MESSAGE_BYTES,
    maxRoomsLoaded: Math.max(1, e.MAX_ROOMS_LOADED),
    roomIdleMs: e.ROOM_IDLE_MS,
    compactBytes: e.COMPACT_BYTES,
    fsync: e.PERSIST_FSYNC,
    awarenessRate: Math.max(1, e.AWARENESS_RATE),
    coalesceMs: e.FANOUT_COALESCE_MS,
    maxBufferedBytes: e.MAX_BUFFERED_BYTES,
    maxDocBytes: Math.max(64 * 1024, e.MAX_DOC_BYTES),
    awarenessMaxBytes: Math.max(256, e.AWARENESS_MAX_BYTES),
    maxConnectionsPerIp: Math.max(1, e.MAX_CONNECTIONS_PER_IP),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    engine: { bundleDir: e.ENGINE_BUNDLE ? path.resolve(e.ENGINE_BUNDLE) : undefined, workers: e.ENGINE_WORKERS, threads: e.ENGINE_THREADS, device: e.ENGINE_DEVICE },
    preview: { debounceMs: e.PREVIEW_DEBOUNCE_MS, maxWaitMs: e.PREVIEW_MAX_WAIT_MS, jpegQuality: e.PREVIEW_JPEG_QUALITY, queueMax: Math.max(1, e.PREVIEW_QUEUE_MAX) },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.REDIS_PREFIX, streamMinLifetimeMs: Math.max(1000, e.STREAM_MIN_LIFETIME_MS) } : null,
    databaseUrl: e.DATABASE_URL,
    blobDir: path.resolve(e.BLOB_DIR ?? path.join(e.DATA_DIR, 'blobs')),
    roomCreation: { burst: Math.max(1, e.ROOM_CREATE_BURST), perMinute: Math.max(1, e.ROOMS_PER_HOUR) / 60 },
    suggestions: { burst: Math.max(1, e.SUGGESTION_BURST), perMinute: Math.max(1, e.SUGGESTIONS_PER_MINUTE) },
    votes: { burst: Math.max(1, e.VOTE_BURST), perMinute: Math.max(1, e.VOTES_PER_MINUTE) },
    render: {
      concurrency: Math.max(1, e.RENDER_CONCURRENCY),
      parallel: Math.max(1, e.RENDER_SHOT_PARALLELISM),
      cacheBytes: e.SHOT_CACHE_BYTES,
      ttlMs: e.RENDER_TTL_HOURS * 3_600_000,
      roomQueue: e.RENDER_ROOM_QUEUE,
      queueMax: Math.max(1, e.RENDER_QUEUE_MAX),
      maxFrames: Math.max(1, e.MAX_RENDER_FRAMES),
      maxBytes: e.RENDERS_MAX_BYTES,
    },
    post: { assetMaxBytes: Math.max(1024, e.ASSET_MAX_BYTES), ttsCacheBytes: e.TTS_CACHE_BYTES, cacheBytes: e.POST_CACHE_BYTES, bedsAtStart: e.MUSIC_BEDS_AT_START === '1' },
    ...overrides,
  };
}

/** TRUST_PROXY as Fastify takes it: unset/false → false, true → true, else a comma-separated list of addresses. */
function parseTrustProxy(value: string | undefined): boolean | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return value;
}
