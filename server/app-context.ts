import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../engine/index.js';
import type { RoomAccess } from './auth/room-access.js';
import type { TokenSigner } from './auth/tokens.js';
import type { Backends } from './backends/backends.js';
import type { CollabEndpoint } from './collab/endpoint.js';
import type { RoomManager } from './collab/room-manager.js';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { AddressOf } from './net/client-address.js';
import type { ContentPolicy } from './policy/content-policy.js';
import type { RoomBroadcast } from './ports/room-broadcast.js';
import type { PreviewService } from './preview/preview-service.js';
import type { FrameFanout } from './realtime/frame-fanout.js';
import type { SocketServer } from './realtime/socket-server.js';
import type { RenderJobs } from './render/render-jobs.js';
import type { RoomGuard } from './rooms/room-guard.js';
import type { AssetStore } from './post/audio/assets.js';

/** What the capabilities of one app share; built in buildApp in the order data flows. */
export interface AppContext {
  config: Config;
  log: FastifyBaseLogger;
  metrics: Metrics;
  /** The stores, queues and buses of this mode (embedded or Redis). */
  backends: Backends;
  tokens: TokenSigner;
  /** Token checks against the room's directory entry (existence, link generation). */
  access: RoomAccess;
  /** The one content policy (previews, renders, suggestions). */
  policy: ContentPolicy;
  /** This node's side of rotated links and deleted rooms. */
  guard: RoomGuard;
  rooms: RoomManager;
  collab: CollabEndpoint;
  realtime: SocketServer;
  /** Preview frames to this node's sockets, with per-socket flow control. */
  fanout: FrameFanout;
  /** Room events of the preview and render flows (to the room on every node; states noted for late joiners). */
  events: RoomBroadcast;
  /** The client address of a raw request (TRUST_PROXY). */
  addressOf: AddressOf;
  /** Null where the engine is not (ENGINE_WORKERS=0, or a scale-out node). */
  engine: EnginePool | null;
  /** Null when previews are off (no engine anywhere). */
  preview: PreviewService | null;
  renders: RenderJobs | null;
  /** The rooms' uploaded audio (music). */
  assets: AssetStore;
}
