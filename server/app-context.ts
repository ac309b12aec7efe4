import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../engine/index.js';
import type { RoomAccess } from './auth/room-access.js';
import type { ContentPolicy } from './policy/content-policy.js';
import type { TokenSigner } from './auth/tokens.js';
import type { RoomControl } from './rooms/room-control.js';
import type { RoomGuard } from './rooms/room-guard.js';
import type { CollabEndpoint } from './collab/endpoint.js';
import type { RoomManager } from './collab/room-manager.js';
import type { DocumentStore } from './ports/document-store.js';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { FrameFanout } from './preview/frame-fanout.js';
import type { PreviewService } from './preview/preview-service.js';
import type { RenderService } from './render/render-service.js';
import type { SocketServer } from './realtime/socket-server.js';
import type { RoomDirectory } from './ports/room-directory.js';
import type { Cluster, ClusterJobs } from './scale/cluster.js';

/** What the parts of one app share. Built once in buildApp; plugins read from it. */
export interface AppContext {
  config: Config;
  log: FastifyBaseLogger;
  metrics: Metrics;
  tokens: TokenSigner;
  /** Token checks against the room's directory entry (existence, link generation). */
  access: RoomAccess;
  /** The one content policy (previews, renders, suggestions). */
  policy: ContentPolicy;
  /** Room changes every node acts on (rotated links, deletions). */
  control: RoomControl;
  /** This node's side of them. */
  guard: RoomGuard;
  directory: RoomDirectory;
  store: DocumentStore;
  rooms: RoomManager;
  collab: CollabEndpoint;
  realtime: SocketServer;
  /** Preview frames to this node's sockets, with per-socket flow control. */
  fanout: FrameFanout;
  /** Null when the engine is off (ENGINE_WORKERS=0). */
  engine: EnginePool | null;
  preview: PreviewService | null;
  renders: RenderService | null;
  /** Scale-out only: the Redis side of this node. */
  cluster: { cluster: Cluster; jobs: ClusterJobs } | null;
  /** Named readiness checks for /healthz; each throws when unhealthy. */
  health: Record<string, () => Promise<void>>;
}
