/**
 * Plain form controls bound to one key of a Y.Map: local changes are written on `change` (after
 * parsing; invalid input snaps back), remote changes show unless the control has the focus.
 * Nothing is written while `canWrite()` is false (read-only pages): a disabled control still gets
 * `change` events from scripts, so being disabled is not enough.
 */
import type * as Y from 'yjs';

export interface Binding {
  /** Shows the map's current value (skipped while the control is focused, unless forced). */
  refresh(force?: boolean): void;
  destroy(): void;
}

export function bindControl<V>(
  map: Y.Map<unknown>,
  key: string,
  control: HTMLInputElement | HTMLSelectElement,
  codec: { parse: (text: string) => V | null; format: (value: unknown) => string },
  canWrite: () => boolean,
): Binding {
  const refresh = (force = false) => {
    if (!force && document.activeElement === control) return;
    const text = codec.format(map.get(key));
    if (control.value !== text) control.value = text;
    control.removeAttribute('aria-invalid');
  };
  const onChange = () => {
    if (!canWrite()) return refresh(true);
    const value = codec.parse(control.value);
    if (value === null) {
      control.setAttribute('aria-invalid', 'true');
      return;
    }
    control.removeAttribute('aria-invalid');
    if (map.get(key) !== value) map.set(key, value);
  };
  const onBlur = () => refresh(true);
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) refresh();
  };
  control.addEventListener('change', onChange);
  control.addEventListener('blur', onBlur);
  map.observe(observer);
  refresh(true);
  return {
    refresh,
    destroy() {
      control.removeEventListener('change', onChange);
      control.removeEventListener('blur', onBlur);
      map.unobserve(observer);
    },
  };
}

/** A number in [min, max] (rounded to `step` when given). */
export const numberCodec = (min: number, max: number, fallback: number, integer = false) => ({
  parse: (text: string): number | null => {
    const value = Number(text.trim().replace(',', '.'));
    if (!Number.isFinite(value) || value < min || value > max) return null;
    if (integer && !Number.isInteger(value)) return null;
    return value;
  },
  format: (value: unknown): string => String(typeof value === 'number' ? value : fallback),
});

export const stringCodec = (fallback: string, max = Infinity) => ({
  parse: (text: string): string | null => (text.length <= max ? text : null),
  format: (value: unknown): string => (typeof value === 'string' ? value : fallback),
});

/**
 * A control bound to part of one key's value (a field of an object value, like `voice.en` or
 * `transition.type`). `update` makes the key's new value from the control's text and the stored
 * value: null when the text is not valid (nothing written), undefined to remove the key.
 */
export function bindPart(
  map: Y.Map<unknown>,
  key: string,
  control: HTMLInputElement | HTMLSelectElement,
  part: { format: (stored: unknown) => string; update: (text: string, stored: unknown) => unknown },
  canWrite: () => boolean,
): Binding {
  const refresh = (force = false) => {
    if (!force && document.activeElement === control) return;
    const text = part.format(map.get(key));
    if (control.value !== text) control.value = text;
    control.removeAttribute('aria-invalid');
  };
  const onChange = () => {
    if (!canWrite()) return refresh(true);
    const stored = map.get(key);
    const next = part.update(control.value, stored);
    if (next === null) {
      control.setAttribute('aria-invalid', 'true');
      return;
    }
    control.removeAttribute('aria-invalid');
    if (next === undefined) {
      if (map.has(key)) map.delete(key);
    } else if (JSON.stringify(next) !== JSON.stringify(stored)) {
      map.set(key, next);
    }
  };
  return listen(map, key, control, refresh, onChange);
}

/**
 * A checkbox bound to a boolean key. `whenOff: 'delete'` removes the key when unchecked (for an
 * optional flag whose absence means false), else false is written.
 */
export function bindCheckbox(map: Y.Map<unknown>, key: string, control: HTMLInputElement, fallback: boolean, canWrite: () => boolean, whenOff: 'false' | 'delete' = 'false'): Binding {
  const refresh = () => {
    const value = map.get(key);
    control.checked = typeof value === 'boolean' ? value : fallback;
  };
  const onChange = () => {
    if (!canWrite()) return refresh();
    const on = control.checked;
    if (!on && whenOff === 'delete') {
      if (map.has(key)) map.delete(key);
    } else if (map.get(key) !== on) {
      map.set(key, on);
    }
  };
  return listen(map, key, control, refresh, onChange);
}

function listen(map: Y.Map<unknown>, key: string, control: HTMLInputElement | HTMLSelectElement, refresh: (force?: boolean) => void, onChange: () => void): Binding {
  const onBlur = () => refresh(true);
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(key)) refresh();
  };
  control.addEventListener('change', onChange);
  control.addEventListener('blur', onBlur);
  map.observe(observer);
  refresh(true);
  return {
    refresh,
    destroy() {
      control.removeEventListener('change', onChange);
      control.removeEventListener('blur', onBlur);
      map.unobserve(observer);
    },
  };
}
