/**
 * Records what a Socket.IO client hears about previews, and waits on it by events.
 */
import type { PreviewFrame, PreviewState } from '../../shared/protocol.js';
import type { ClientSocket } from './socket-client.js';

export class PreviewRecorder {
  readonly states: PreviewState[] = [];
  readonly frames: PreviewFrame[] = [];
  readonly #waiters: (() => void)[] = [];

  constructor(readonly socket: ClientSocket) {
    socket.on('preview:state', (state) => {
      this.states.push(state);
      this.#wake();
    });
    socket.on('preview:frame', (frame) => {
      this.frames.push({ ...frame, data: new Uint8Array(frame.data as unknown as ArrayBuffer) });
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Resolves when `predicate` holds (checked after every event). */
  async until<T>(predicate: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; states: ${JSON.stringify(this.states.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The state that ended a revision of a shot (done, cancelled, refused, failed). */
  finalState(shot: string, rev?: number): PreviewState | undefined {
    return [...this.states].reverse().find((s) => s.shot === shot && (rev === undefined || s.rev === rev) && ['done', 'cancelled', 'refused', 'failed'].includes(s.status));
  }

  /** Waits for the `done` of the newest revision of a shot that started after `afterRev`. */
  done(shot: string, afterRev = 0): Promise<PreviewState> {
    return this.until(() => this.states.find((s) => s.shot === shot && s.status === 'done' && s.rev > afterRev), 30_000, `done of ${shot}`);
  }

  framesOf(shot: string, rev: number): PreviewFrame[] {
    return this.frames.filter((f) => f.shot === shot && f.rev === rev);
  }
}
