/**
 * Turns at the engine for render shots, rooms served in rotation: a render asks for a turn before
 * it generates each shot (cache hits need none) and gives it back after. With `slots` turns at
 * once, a waiting room whose last turn is the oldest goes first, so a long render in one room
 * yields to another room's render between its shots, and a short render elsewhere starts within
 * one shot's time instead of after the whole long render.
 */
import { abortError } from '../../engine/index.js';

interface Waiter {
  room: string;
  grant: (release: () => void) => void;
  fail: (error: Error) => void;
}

export class FairTurns {
  #busy = 0;
  readonly #waiting: Waiter[] = [];
  /** When each room last got a turn (a counter, not a clock). */
  readonly #lastTurn = new Map<string, number>();
  #turns = 0;

  constructor(readonly slots: number) {}

  /** Resolves with the function that gives the turn back (idempotent); rejects with an AbortError. */
  acquire(room: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        room,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: reject,
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#grant();
    });
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  #grant(): void {
    while (this.#busy < this.slots && this.#waiting.length > 0) {
      // The room served least recently (never served: first); ties by arrival.
      let best = 0;
      for (let i = 1; i < this.#waiting.length; i++) {
        if ((this.#lastTurn.get(this.#waiting[i]!.room) ?? -1) < (this.#lastTurn.get(this.#waiting[best]!.room) ?? -1)) best = i;
      }
      const [waiter] = this.#waiting.splice(best, 1);
      this.#busy++;
      this.#lastTurn.set(waiter!.room, ++this.#turns);
      if (this.#lastTurn.size > 10_000) this.#forgetOldest();
      let released = false;
      waiter!.grant(() => {
        if (released) return;
        released = true;
        this.#busy--;
        this.#grant();
      });
    }
  }

  #forgetOldest(): void {
    const waitingRooms = new Set(this.#waiting.map((w) => w.room));
    for (const [room] of this.#lastTurn) {
      if (this.#lastTurn.size <= 5000) break;
      if (!waitingRooms.has(room)) this.#lastTurn.delete(room);
    }
  }
}
