/**
 * Wire contract between server, clients and overlay pages (DESIGN.md): roles, WebSocket close
 * codes, HTTP bodies and the Socket.IO event maps.
 */
import type { CameraMove } from './camera.js';
import type { ErrorCode } from './errors.js';
import type { Scene, SceneInput } from './scene.js';
import type { Suggestion } from './scene-doc.js';

export const ROLES = ['editor', 'viewer', 'overlay'] as const;
export type Role = (typeof ROLES)[number];
export const canWrite = (role: Role): boolean => role === 'editor';

/** Room ids are what POST /api/rooms hands out; anything else is rejected before a lookup. */
export const ROOM_ID_PATTERN = /^[a-z0-9]{8,32}$/;

/**
 * WebSocket close codes of ws://HOST/yjs/:room. 4400-4499 tell the stock y-websocket client not to
 * reconnect (the request itself is wrong); 4500-4599 and 1011 mean "try again".
 */
export const CLOSE = {
  MALFORMED: 4400,
  BAD_TOKEN: 4401,
  FORBIDDEN: 4403,
  UNKNOWN_ROOM: 4404,
  DOC_TOO_LARGE: 4413,
  TOO_MANY_CONNECTIONS: 4429,
  CLIENT_TOO_SLOW: 1013,
  STORAGE_ERROR: 4500,
  AT_CAPACITY: 4503,
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
} as const;

// ---- HTTP ------------------------------------------------------------------------------------

export interface CreateRoomRequest {
  title?: string;
  scene?: SceneInput;
}

export interface CreateRoomResponse {
  room: string;
  tokens: Record<Role, string>;
  urls: Record<Role, string>;
}

export type SceneResponse = Scene;

export interface HealthResponse {
  status: 'ok' | 'degraded';
  uptime: number;
  checks: Record<string, { ok: boolean; message?: string }>;
}

// ---- Socket.IO -------------------------------------------------------------------------------

export type PreviewStatus = 'queued' | 'generating' | 'done' | 'cancelled' | 'refused' | 'failed';

export interface PreviewState {
  shot: string;
  rev: number;
  status: PreviewStatus;
  reason?: string;
  code?: ErrorCode;
}

export interface PreviewFrame {
  shot: string;
  rev: number;
  index: number;
  count: number;
  fps: number;
  width: number;
  height: number;
  /** JPEG bytes. */
  data: Uint8Array;
}

/** POST /api/prompts/read: how the bundled model reads a prompt. */
export interface PromptReading {
  reading: string;
  ignored: string[];
  camera: CameraMove | null;
}

/** `live:state` (DESIGN.md): where the room's live stream is. */
export type LiveStatus = 'starting' | 'live' | 'paused' | 'stopped' | 'refused';

export interface LiveState {
  status: LiveStatus;
  /** Counts the changes of the prompt on air. */
  rev: number;
  /** `seq` of the first frame made from revision `rev`. */
  appliedAt?: number;
  /** The prompt on air, and who suggested it (absent: an editor's). */
  prompt?: string;
  author?: string;
  /** Why it is paused, or why a prompt was refused (the stream goes on with the last good one). */
  reason?: string;
  code?: ErrorCode;
  fps?: number;
}

/** `live:frame`: the room's live stream, one generation fanned out to every socket. */
export interface LiveFrame {
  seq: number;
  rev: number;
  fps: number;
  width: number;
  height: number;
  /** JPEG bytes. */
  data: Uint8Array;
}

export type RenderStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type RenderStage = 'queued' | 'generate' | 'join' | 'post' | 'done';

export interface RenderShotInfo {
  id: string;
  /** Content key (the shot cache's). */
  key: string;
  frames: number;
  done: number;
  cached: boolean;
  status: 'pending' | 'rendering' | 'done';
  /** Milliseconds this shot took (0 for a cache hit). */
  ms: number;
}

export interface RenderTimings {
  /** Milliseconds: text encoding + denoising + decoding. */
  generate: number;
  /** Camera stage + upscaling to 1280x720. */
  upscale: number;
  /** Waiting on the H.264 encoder. */
  encode: number;
  join: number;
  total: number;
}

/** GET /api/renders/:id */
export interface RenderInfo {
  id: string;
  room: string;
  status: RenderStatus;
  stage: RenderStage;
  profile: 'final' | 'preview';
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  scene: Scene;
  shots: RenderShotInfo[];
  timings: RenderTimings;
  /** When done: where to download it, its size, its length in seconds. */
  url: string | null;
  bytes: number | null;
  seconds: number | null;
  error: { code: ErrorCode; message: string } | null;
  /** What the render did differently from the scene and why (a narration longer than its shot, a shortened transition). */
  warnings?: string[];
  /** When done: the captions as WebVTT (the scene had captions). */
  captionsUrl?: string | null;
}

export interface CreateRenderRequest {
  /** Render this scene instead of the room's current one. */
  scene?: SceneInput;
  /** A fast low-resolution clip from the preview profile. */
  preview?: boolean;
}

export interface RenderProgress {
  id: string;
  stage: string;
  shot?: string;
  done: number;
  total: number;
  cached?: boolean;
  /** Post-production's notes, when there are some (also kept on the record). */
  warnings?: string[];
}

export interface RenderDone {
  id: string;
  url: string;
  bytes: number;
  seconds: number;
}

export interface RenderError {
  id: string;
  code: ErrorCode;
  message: string;
}

export interface Presence {
  room: string;
  editor: number;
  viewer: number;
  overlay: number;
}

export interface ServerToClientEvents {
  'preview:state': (state: PreviewState) => void;
  'preview:frame': (frame: PreviewFrame) => void;
  'live:state': (state: LiveState) => void;
  'live:frame': (frame: LiveFrame) => void;
  /** Votes of a suggestion changed. */
  'suggestion:votes': (votes: { id: string; votes: number }) => void;
  'render:progress': (progress: RenderProgress) => void;
  'render:done': (done: RenderDone) => void;
  'render:error': (error: RenderError) => void;
  suggestion: (suggestion: Suggestion) => void;
  'room:presence': (presence: Presence) => void;
  'room:joined': (info: { room: string; role: Role }) => void;
  /** Sent just before the server disconnects the socket for good: the links were replaced or expired, the room was deleted. */
  'room:closed': (info: { code: ErrorCode; message: string }) => void;
}

/** What the server answers a client event with (its acknowledgement callback). */
export type ClientAck<T> = ({ ok: true } & T) | { ok: false; error: { code: ErrorCode; message: string } };

/**
 * Client → server events. Each payload has a schema in shared/client-events.ts, checked before
 * any handler runs; the last argument is the acknowledgement (a coded error when refused).
 */
export interface ClientToServerEvents {
  /** An audience suggestion over the socket (overlay or editor; the same rules as POST …/suggestions). */
  'suggestion:submit': (payload: { text: string; author?: string }, ack: (reply: ClientAck<{ suggestion: Suggestion }>) => void) => void;
  /** One vote for a pending suggestion (overlay or editor; one per client per suggestion, rate-limited). */
  'suggestion:vote': (payload: { id: string }, ack: (reply: ClientAck<{ votes: number }>) => void) => void;
}

/** Data the server keeps on each socket. */
export interface SocketData {
  room: string;
  role: Role;
  /** The link generation of the socket's token. */
  epoch: number;
  /** When the socket's token expires (ms since the epoch), or null. */
  expiresAt: number | null;
}

/** `connect_error` payload (`err.data`) when the handshake is refused. */
export interface ConnectErrorData {
  code: ErrorCode;
}
