/**
 * The embedded PreviewStore: in this process, bounded by bytes (least recently updated rooms go first).
 */
import type { CachedPreview, PreviewStore } from '../ports/preview-store.js';
import { LruCache } from '../../engine/index.js';

export class FrameCache implements PreviewStore {
  readonly #rooms: LruCache<string, Map<string, CachedPreview>>;

  constructor(maxBytes: number) {
    this.#rooms = new LruCache(maxBytes, (shots) => [...shots.values()].reduce((sum, p) => sum + p.bytes + (p.tail?.byteLength ?? 0), 0));
  }

  async set(room: string, preview: CachedPreview): Promise<void> {
    const shots = new Map(this.#rooms.get(room) ?? []);
    shots.set(preview.shot, preview);
    this.#rooms.set(room, shots);
  }

  async get(room: string): Promise<CachedPreview[]> {
    return [...(this.#rooms.get(room)?.values() ?? [])];
  }

  async retain(room: string, shotIds: Set<string>): Promise<void> {
    const shots = this.#rooms.get(room);
    if (!shots || [...shots.keys()].every((id) => shotIds.has(id))) return;
    this.#rooms.set(room, new Map([...shots].filter(([id]) => shotIds.has(id))));
  }

  async tail(room: string, shot: string, key: string): Promise<Float32Array | null> {
    const found = this.#rooms.get(room)?.get(shot);
    return found?.key === key && found.tail ? found.tail.slice() : null;
  }

  get bytes(): number {
    return this.#rooms.bytes;
  }
}
