/**
 * Who is here, from Yjs awareness: each client publishes `user: {name, color, colorLight, role}`
 * (the fields y-codemirror.next reads for remote carets) and `shot`, the id of the shot it is in.
 * Remote states arrive cleaned (lib/awareness.ts): a colour is `#rrggbb`, a name at most 40 chars.
 */
import type { Awareness } from 'y-protocols/awareness';
import type { Role } from '../../../shared/protocol.js';
import { lightOf, NAME_CHARS, type PresenceUser } from '../lib/awareness.js';
import { h, uid } from '../lib/dom.js';
import { onLangChange, safeStorage, setText } from '../lib/i18n.js';

export interface Person {
  clientId: number;
  self: boolean;
  user: PresenceUser;
  shot: string | null;
}

const COLORS = ['#e5484d', '#f76b15', '#ffb224', '#30a46c', '#0090ff', '#6e56cf', '#d6409f', '#12a594'];
const STORAGE = 'scenecast:user';

function loadUser(): { name: string; color: string } {
  try {
    const raw = safeStorage()?.getItem(STORAGE);
    if (raw) {
      const parsed = JSON.parse(raw) as { name?: unknown; color?: unknown };
      if (typeof parsed.name === 'string' && typeof parsed.color === 'string' && /^#[0-9a-f]{6}$/i.test(parsed.color)) {
        return { name: parsed.name.slice(0, NAME_CHARS), color: parsed.color };
      }
    }
  } catch {
    // fall through to a new identity
  }
  const n = Math.floor(Math.random() * 900) + 100;
  return { name: `Guest ${n}`, color: COLORS[n % COLORS.length]! };
}

export function people(awareness: Awareness): Person[] {
  const out: Person[] = [];
  awareness.getStates().forEach((state, clientId) => {
    const user = state.user as PresenceUser | undefined;
    if (!user) return;
    out.push({ clientId, self: clientId === awareness.clientID, user, shot: typeof state.shot === 'string' ? state.shot : null });
  });
  return out.sort((a, b) => Number(b.self) - Number(a.self) || a.user.name.localeCompare(b.user.name));
}

export interface PresenceView {
  /** Name and colour inputs. */
  identity: HTMLElement;
  /** The list of people, with the shot each one is in. */
  list: HTMLElement;
  setRole(role: Role): void;
  /** Which shot this client is in (null: none). */
  setShot(shot: string | null): void;
  /** Re-renders the list (shot names changed). */
  refresh(): void;
}

/** `shotLabel(id)`: how to name a shot in "in Shot 2". */
export function createPresence(awareness: Awareness, shotLabel: (id: string) => string | null): PresenceView {
  const stored = loadUser();
  let role: Role = 'viewer';
  const publish = (name: string, color: string) => {
    const user: PresenceUser = { name, color, colorLight: lightOf(color), role };
    awareness.setLocalStateField('user', user);
    safeStorage()?.setItem(STORAGE, JSON.stringify({ name, color }));
  };

  const nameId = uid('name');
  const colorId = uid('color');
  const nameInput = h('input', { id: nameId, attrs: { type: 'text', maxlength: 40, value: stored.name, autocomplete: 'nickname' } });
  const colorInput = h('input', { id: colorId, attrs: { type: 'color', value: stored.color } });
  const update = () => publish(nameInput.value.trim() || stored.name, colorInput.value);
  nameInput.addEventListener('change', update);
  colorInput.addEventListener('input', update);
  const identity = h(
    'div',
    { class: 'identity' },
    h('label', { attrs: { for: nameId }, t: 'yourName' }),
    nameInput,
    h('label', { attrs: { for: colorId }, t: 'yourColor' }),
    colorInput,
  );

  const heading = h('h2', { t: 'people' });
  const ul = h('ul', { class: 'people', attrs: { 'aria-live': 'polite' } });
  const list = h('section', { class: 'panel presence', aria: 'people' }, heading, ul);

  const render = () => {
    ul.replaceChildren(
      ...people(awareness).map((person) => {
        const where = person.shot ? shotLabel(person.shot) : null;
        const whereEl = h('span', { class: 'where' });
        if (where) setText(whereEl, 'inShot', { shot: where });
        else setText(whereEl, 'noShot');
        const roleEl = h('span', { class: 'role' });
        setText(roleEl, person.user.role === 'editor' ? 'roleEditor' : person.user.role === 'overlay' ? 'roleOverlay' : 'roleViewer');
        // Set through the CSSOM, never as style text: a value that is not a colour is ignored.
        const dot = h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } });
        dot.style.backgroundColor = person.user.color;
        return h(
          'li',
          { class: person.self ? 'person self' : 'person', attrs: { 'data-client': person.clientId } },
          dot,
          h('span', { class: 'name', text: person.user.name }),
          person.self ? h('span', { class: 'you', t: 'you' }) : null,
          roleEl,
          whereEl,
        );
      }),
    );
  };
  awareness.on('change', render);
  onLangChange(render);
  publish(stored.name, stored.color);
  render();

  return {
    identity,
    list,
    setRole(next) {
      role = next;
      update();
    },
    setShot(shot) {
      if ((awareness.getLocalState()?.shot ?? null) === shot) return;
      awareness.setLocalStateField('shot', shot);
    },
    refresh: render,
  };
}
