/**
 * Prometheus metrics of one app instance (its own registry, so several apps can live in one
 * process, as in the tests). Other modules get the `Metrics` object and never touch prom-client.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'scenecast_' });
  const m = {
    registry,
    connections: new Gauge({ name: 'scenecast_connections', help: 'Open client connections', labelNames: ['transport', 'role'] as const, registers: [registry] }),
    roomsLoaded: new Gauge({ name: 'scenecast_rooms_loaded', help: 'Rooms whose document is in memory', registers: [registry] }),
    roomLoads: new Counter({ name: 'scenecast_room_loads_total', help: 'Room loads by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
    roomUnloads: new Counter({ name: 'scenecast_room_unloads_total', help: 'Rooms unloaded from memory', labelNames: ['reason'] as const, registers: [registry] }),
    updates: new Counter({ name: 'scenecast_yjs_updates_total', help: 'Document updates accepted and stored (rate() gives updates/s)', registers: [registry] }),
    updateBytes: new Counter({ name: 'scenecast_yjs_update_bytes_total', help: 'Bytes of document updates stored', registers: [registry] }),
    persistSeconds: new Histogram({
      name: 'scenecast_persist_seconds',
      help: 'From an update being applied to it being durable (write + group fdatasync)',
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    compactions: new Counter({ name: 'scenecast_compactions_total', help: 'Log compactions to a snapshot', labelNames: ['outcome'] as const, registers: [registry] }),
    storageRepairs: new Counter({ name: 'scenecast_storage_repairs_total', help: 'Interrupted last writes set aside while loading', registers: [registry] }),
    readOnlyDropped: new Counter({ name: 'scenecast_readonly_updates_dropped_total', help: 'Updates from read-only connections that were dropped', registers: [registry] }),
    awarenessIn: new Counter({ name: 'scenecast_awareness_in_total', help: 'Awareness messages received', registers: [registry] }),
    awarenessOut: new Counter({ name: 'scenecast_awareness_broadcasts_total', help: 'Batched awareness broadcasts (one per room per flush)', registers: [registry] }),
    awarenessDropped: new Counter({
      name: 'scenecast_awareness_dropped_total',
      help: 'Awareness states or entries from clients the server did not apply, by reason (foreign-id also counts the stock client echoing states it learnt)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    wsClosed: new Counter({ name: 'scenecast_ws_closed_by_server_total', help: 'Yjs connections closed by the server, by close code', labelNames: ['code'] as const, registers: [registry] }),
    previewLatency: new Histogram({
      name: 'scenecast_preview_edit_to_first_frame_seconds',
      help: 'From the edit (as the server got it) to the first preview frame sent to the room',
      buckets: [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    previewFramesSent: new Counter({ name: 'scenecast_preview_frames_sent_total', help: 'Preview frames sent to sockets', registers: [registry] }),
    previewFramesDropped: new Counter({ name: 'scenecast_preview_frames_dropped_total', help: 'Preview frames skipped for slow sockets (a newer frame replaced them)', registers: [registry] }),
    previewQueueDepth: new Gauge({ name: 'scenecast_preview_queue_depth', help: 'Preview jobs waiting for the engine', registers: [registry] }),
    previewJobs: new Counter({ name: 'scenecast_preview_jobs_total', help: 'Preview jobs by outcome (done, cancelled, failed, refused, full)', labelNames: ['outcome'] as const, registers: [registry] }),
    renders: new Counter({ name: 'scenecast_renders_total', help: 'Renders by outcome (queued, done, failed, cancelled)', labelNames: ['outcome'] as const, registers: [registry] }),
    renderSeconds: new Histogram({ name: 'scenecast_render_seconds', help: 'Wall time of finished renders', buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160], registers: [registry] }),
    shotCache: new Counter({ name: 'scenecast_shot_cache_lookups_total', help: 'Shot cache lookups during renders', labelNames: ['result'] as const, registers: [registry] }),
    shotCacheBytes: new Gauge({ name: 'scenecast_shot_cache_bytes', help: 'Bytes of encoded shots in the cache', registers: [registry] }),
    redisLatency: new Gauge({ name: 'scenecast_redis_latency_seconds', help: 'Round trip of a PING to Redis at the last scrape (scale-out)', registers: [registry] }),
    streamEntries: new Gauge({ name: 'scenecast_doc_stream_entries', help: 'Entries in the Redis streams of the rooms this node holds (scale-out)', registers: [registry] }),
    renderQueue: new Gauge({ name: 'scenecast_render_queue_jobs', help: 'Render jobs by state', labelNames: ['state'] as const, registers: [registry] }),
    engineWorkers: new Gauge({ name: 'scenecast_engine_workers', help: 'Engine worker processes connected to the job queues (scale-out)', registers: [registry] }),
    textCache: new Counter({ name: 'scenecast_text_cache_lookups_total', help: 'Text-conditioning cache lookups in the engine', labelNames: ['result'] as const, registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
