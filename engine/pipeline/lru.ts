/**
 * A map bounded by the total size of its values (LRU eviction), with hit/miss counts.
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, { value: V; size: number }>();
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    const size = this.sizeOf(value);
    this.delete(key);
    if (size > this.maxBytes) return;
    this.#map.set(key, { value, size });
    this.#bytes += size;
    for (const [oldest, entry] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(oldest);
      this.#bytes -= entry.size;
      this.onEvict?.(oldest, entry.value);
    }
  }

  delete(key: K): boolean {
    const entry = this.#map.get(key);
    if (!entry) return false;
    this.#map.delete(key);
    this.#bytes -= entry.size;
    return true;
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }
}
