/** A tiny element builder: h('button', { class: 'x', t: 'create', on: { click } }, child…). */
import { setAttr, setText, type Key, type Vars } from './i18n.js';

export interface Props {
  class?: string;
  id?: string;
  /** Translated text content. */
  t?: Key;
  /** Translated aria-label. */
  aria?: Key;
  /** Translated title. */
  title?: Key;
  /** Translated placeholder. */
  placeholder?: Key;
  /** Placeholders of the translated strings above. */
  vars?: Vars;
  text?: string;
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  if (props.attrs) {
    for (const [name, value] of Object.entries(props.attrs)) {
      if (value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  if (props.text !== undefined) el.textContent = props.text;
  if (props.t) setText(el, props.t, props.vars);
  if (props.aria) setAttr(el, 'aria-label', props.aria, props.vars);
  if (props.title) setAttr(el, 'title', props.title, props.vars);
  if (props.placeholder) setAttr(el, 'placeholder', props.placeholder, props.vars);
  if (props.on) {
    for (const [type, handler] of Object.entries(props.on)) el.addEventListener(type, handler as EventListener);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

let nextId = 0;
/** A document-unique id for label/for pairs. */
export const uid = (prefix = 'id'): string => `${prefix}-${++nextId}`;

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}
