/**
 * Encoded shot segments by content key (everything that decides a shot's pixels: engine's
 * shotKey), so a re-render after a small edit reuses every unchanged shot byte for byte. The
 * segments are blobs (ports/blob-store.ts); the index (size, frames, last use, which rooms hold
 * each) is a JSON file (embedded: render/shot-cache.ts) or lives in Redis (scale/redis-caches.ts).
 * Bounded by bytes, least recently used first; kept across restarts. Contract:
 * test/contracts/shot-store.test.ts.
 */
export interface CachedShot {
  key: string;
  bytes: number;
  frames: number;
  lastUsed: number;
  /** Rooms that made or reused it: deleting a room forgets it there, and an entry no room holds goes. */
  rooms?: string[];
  /** What its maker said about it (post-production's warnings on a soundtrack), given back with every hit. */
  notes?: string[];
}

export interface ShotCacheStats {
  hits: number;
  misses: number;
  bytes: number;
  entries: number;
}

export interface ShotStore {
  /** A local file with the segment of `key` (for the joiner), or null when it is not cached. */
  segment(key: string): Promise<string | null>;
  /** A fresh local path for a segment being encoded (`put` takes it in). */
  scratch(): Promise<string>;
  /** The cached shot, or null; counts a hit or a miss. A hit for `room` makes the room one of its holders. */
  get(key: string, room?: string): Promise<CachedShot | null>;
  /** Takes an encoded segment into the cache under `key`, held by `room`, with its maker's `notes`. */
  put(key: string, file: string, frames: number, room?: string, notes?: string[]): Promise<CachedShot>;
  /** A room was deleted: it holds no entry any more, and entries no other room holds are removed. */
  forgetRoom(room: string): Promise<number>;
  stats(): ShotCacheStats | Promise<ShotCacheStats>;
  /** Waits until the index is written. */
  flush(): Promise<void>;
}

/** Rooms remembered per entry (the oldest are forgotten first; a forgotten room cannot delete it). */
const MAX_OWNERS = 64;

/** `rooms` with `room` added (last), at most MAX_OWNERS. */
export function withOwner(rooms: string[] | undefined, room: string | undefined): string[] | undefined {
  if (room === undefined) return rooms;
  const list = (rooms ?? []).filter((r) => r !== room);
  list.push(room);
  return list.slice(-MAX_OWNERS);
}

/** The blob key of a segment. */
export const segmentKey = (key: string): string => `${key}.mp4`;

/** A shot store's hit and miss counts (every lookup is one or the other), kept the same way by every store. */
export class LookupCounts {
  hits = 0;
  misses = 0;

  /** Counts a miss; the lookup's answer. */
  miss(): null {
    this.misses++;
    return null;
  }

  /** Counts a hit and marks the entry used now (by `room`, who becomes one of its holders). */
  hit(entry: CachedShot, room: string | undefined): CachedShot {
    this.hits++;
    entry.lastUsed = Date.now();
    const rooms = withOwner(entry.rooms, room);
    if (rooms) entry.rooms = rooms;
    return entry;
  }
}
