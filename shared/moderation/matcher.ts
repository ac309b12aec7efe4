/**
 * Aho–Corasick: every occurrence of every pattern in one left-to-right pass over the text, in
 * time linear in the text plus the matches. Built once; states are indices, edges are UTF-16
 * code units (patterns and text are both UTF-16, so astral characters match as their pairs).
 */
export interface Hit<T> {
  /** Code-unit offsets into the searched text, end exclusive. */
  start: number;
  end: number;
  value: T;
}

export class AhoCorasick<T> {
  readonly #edges: Map<number, number>[] = [new Map()];
  readonly #fail: number[] = [0];
  /** Per state: the patterns that end there, its own and those of its suffix states. */
  readonly #out: { length: number; value: T }[][] = [[]];
  /** Code units that occur in some pattern: any other one sends the search back to the root. */
  readonly #alphabet = new Uint8Array(0x10000);

  constructor(patterns: Iterable<readonly [string, T]>) {
    for (const [pattern, value] of patterns) {
      if (pattern.length === 0) continue;
      let state = 0;
      for (let i = 0; i < pattern.length; i++) {
        const code = pattern.charCodeAt(i);
        this.#alphabet[code] = 1;
        let next = this.#edges[state]!.get(code);
        if (next === undefined) {
          next = this.#edges.push(new Map()) - 1;
          this.#fail.push(0);
          this.#out.push([]);
          this.#edges[state]!.set(code, next);
        }
        state = next;
      }
      this.#out[state]!.push({ length: pattern.length, value });
    }
    // Breadth first, so that a state's failure target is final before its children need it.
    const queue: number[] = [...this.#edges[0]!.values()];
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      for (const [code, child] of this.#edges[state]!) {
        let f = this.#fail[state]!;
        while (f !== 0 && !this.#edges[f]!.has(code)) f = this.#fail[f]!;
        const target = this.#edges[f]!.get(code);
        this.#fail[child] = target !== undefined && target !== child ? target : 0;
        this.#out[child]!.push(...this.#out[this.#fail[child]!]!);
        queue.push(child);
      }
    }
  }

  /** Every occurrence of every pattern, ordered by end offset. */
  search(text: string): Hit<T>[] {
    const hits: Hit<T>[] = [];
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (this.#alphabet[code] === 0) {
        state = 0;
        continue;
      }
      let next = this.#edges[state]!.get(code);
      while (next === undefined && state !== 0) {
        state = this.#fail[state]!;
        next = this.#edges[state]!.get(code);
      }
      state = next ?? 0;
      for (const { length, value } of this.#out[state]!) hits.push({ start: i + 1 - length, end: i + 1, value });
    }
    return hits;
  }
}
