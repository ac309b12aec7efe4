/** A value with change listeners (the few pieces of UI state that several parts follow). */
export class Signal<T> {
  readonly #listeners = new Set<(value: T) => void>();

  constructor(public value: T) {}

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    for (const listener of this.#listeners) listener(value);
  }

  /** Calls `listener` now and on every change; returns the unsubscribe function. */
  watch(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    listener(this.value);
    return () => this.#listeners.delete(listener);
  }
}
