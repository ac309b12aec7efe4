/**
 * Debounce with a maximum wait: `fn` runs `wait` ms after the last trigger, but no later than
 * `maxWait` ms after the first trigger of a burst, so continuous typing still gets previews.
 */
export class Debouncer {
  #timer: NodeJS.Timeout | null = null;
  #firstAt = 0;

  constructor(
    private readonly wait: number,
    private readonly maxWait: number,
    private readonly fn: () => void,
  ) {}

  trigger(): void {
    const now = performance.now();
    if (!this.#timer) this.#firstAt = now;
    else clearTimeout(this.#timer);
    const due = Math.min(now + this.wait, this.#firstAt + this.maxWait);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.fn();
    }, Math.max(0, due - now));
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
