/**
 * Share links with copy buttons. Editors see all three (when they know the read-only tokens),
 * may have the viewer and overlay links expire, replace every link of the room, or delete it;
 * viewers see the viewer link only, which is their own.
 */
import type { CreateRoomResponse, Role } from '../../../shared/protocol.js';
import { api, ApiError } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import { lang, onLangChange, setText, t, type Key } from '../lib/i18n.js';
import { editorLink, overlayLink, viewerLink, type RoomLink } from '../lib/links.js';
import type { Signal } from '../lib/signal.js';

export interface SharePanelOptions {
  /** The page's link; room.ts updates its token and known tokens when the links are replaced. */
  link: RoomLink;
  role: Signal<Role | null>;
  /** Replaces every link of the room (this page moves to the new editor link); resolves to the new links. */
  replaceLinks: () => Promise<CreateRoomResponse>;
  /** Deletes the room for everyone; the page then shows that it is gone. */
  deleteRoom: () => Promise<void>;
}

/** Lifetimes offered for viewer and overlay links, in hours (0: they never expire). */
const EXPIRIES: readonly (readonly [hours: number, label: Key])[] = [
  [0, 'expiry.never'],
  [1, 'expiry.1'],
  [24, 'expiry.24'],
  [168, 'expiry.168'],
];

/** Viewer and overlay tokens made for an expiry, and when (ms) they stop working. */
interface Expiring {
  viewer: string;
  overlay: string;
  expiresAt: number;
}

const failureText = (failure: unknown): string => (failure instanceof ApiError ? failure.describe() : String(failure));

export function createSharePanel({ link, role, replaceLinks, deleteRoom }: SharePanelOptions): HTMLElement {
  const origin = location.origin;
  const body = h('div', { class: 'share-links' });

  const row = (labelKey: Key, what: string, url: string | null) => {
    const id = uid('share');
    const label = h('label', { attrs: { for: id }, t: labelKey });
    if (!url) return h('div', { class: 'share-row' }, label, h('p', { id, class: 'muted', t: 'linkUnknown' }));
    const input = h('input', { id, class: 'share-url', attrs: { type: 'text', readonly: true, value: url, spellcheck: 'false', 'data-role': what } });
    input.addEventListener('focus', () => input.select());
    const feedback = h('span', { class: 'copied', attrs: { 'aria-live': 'polite' } });
    const copy = h('button', { class: 'small', t: 'copy', attrs: { type: 'button', 'aria-label': t('copyN', { what: t(labelKey) }) } });
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(url);
        setText(feedback, 'copied');
      } catch {
        input.focus();
        input.select();
        setText(feedback, 'copyFailed');
      }
      setTimeout(() => (feedback.textContent = ''), 2500);
    });
    return h('div', { class: 'share-row' }, label, h('div', { class: 'row' }, input, copy), feedback);
  };

  // Editors only: how long the viewer and overlay links shown work. The links the editor link
  // carries (link.known) never expire; expiring ones are asked for when chosen, newest request wins.
  const expiryId = uid('share-expiry');
  const expiry = h('select', { id: expiryId, attrs: { name: 'expiry' } }, ...EXPIRIES.map(([hours, label]) => h('option', { t: label, attrs: { value: hours } })));
  const note = h('p', { class: 'muted share-expiry-note' });
  note.hidden = true;
  const expiryError = h('p', { class: 'error', attrs: { role: 'alert' } });
  let expiring: Expiring | null = null;
  let asked = 0;
  const loadExpiring = async () => {
    const hours = Number(expiry.value);
    const mine = ++asked;
    expiryError.textContent = '';
    if (!hours) {
      expiring = null;
      render(role.value);
      return;
    }
    try {
      const start = Date.now();
      const { tokens } = await api.links(link.room, link.token, hours);
      if (mine !== asked) return;
      // The server counts from when it signed; this page from when it asked: the same to the minute.
      expiring = { viewer: tokens.viewer, overlay: tokens.overlay, expiresAt: start + hours * 3_600_000 };
    } catch (failure) {
      if (mine !== asked) return;
      expiring = null;
      expiryError.textContent = failureText(failure);
    }
    render(role.value);
  };
  expiry.addEventListener('change', () => void loadExpiring());

  const showExpiry = () => {
    note.hidden = !expiring;
    if (!expiring) return;
    const when = new Date(expiring.expiresAt);
    const [before = '', after = ''] = t('expiresOn').split('{when}');
    const time = h('time', {
      text: when.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en', { dateStyle: 'medium', timeStyle: 'short' }),
      attrs: { datetime: when.toISOString() },
    });
    note.replaceChildren(before, time, after);
  };

  // Replace links / delete the room: each behind a confirm step that says what it does.
  const confirmHost = h('div', { class: 'confirm-host' });
  const manageStatus = h('p', { class: 'muted manage-status', attrs: { role: 'status' } });
  const manageError = h('p', { class: 'error', attrs: { role: 'alert' } });
  const replaceButton = h('button', { t: 'replaceLinks', attrs: { type: 'button' } });
  const deleteButton = h('button', { class: 'danger', t: 'deleteRoom', attrs: { type: 'button' } });
  const confirm = (opener: HTMLButtonElement, warning: Key, yesKey: Key, busy: Key, action: () => Promise<Key | null>) => {
    manageStatus.textContent = '';
    manageError.textContent = '';
    const text = h('p', { id: uid('confirm'), t: warning });
    const yes = h('button', { class: 'danger', t: yesKey, attrs: { type: 'button' } });
    const no = h('button', { t: 'cancel', attrs: { type: 'button' } });
    const close = () => {
      confirmHost.replaceChildren();
      replaceButton.disabled = deleteButton.disabled = false;
    };
    no.addEventListener('click', () => {
      close();
      opener.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = no.disabled = true;
      setText(manageStatus, busy);
      try {
        const done = await action();
        close();
        if (done) setText(manageStatus, done);
        else manageStatus.textContent = '';
      } catch (failure) {
        manageStatus.textContent = '';
        manageError.textContent = failureText(failure);
        yes.disabled = no.disabled = false;
      }
    });
    replaceButton.disabled = deleteButton.disabled = true;
    confirmHost.replaceChildren(h('div', { class: 'confirm', attrs: { role: 'group', 'aria-labelledby': text.id } }, text, h('div', { class: 'row' }, yes, no)));
    // The safe choice has the focus.
    no.focus();
  };
  replaceButton.addEventListener('click', () =>
    confirm(replaceButton, 'replaceLinksWarning', 'replaceLinksConfirm', 'replacingLinks', async () => {
      await replaceLinks();
      // The expiring links of the old generation stopped working too: new ones, for the same expiry.
      await loadExpiring();
      return 'linksReplaced';
    }),
  );
  deleteButton.addEventListener('click', () =>
    confirm(deleteButton, 'deleteRoomWarning', 'deleteRoomConfirm', 'deletingRoom', async () => {
      await deleteRoom();
      return null;
    }),
  );

  // edit-only: gone while the page cannot edit (e.g. after an edit too large), like every editing control.
  const editorControls = h(
    'div',
    { class: 'share-controls edit-only' },
    h('div', { class: 'field' }, h('label', { attrs: { for: expiryId }, t: 'shareExpiry' }), expiry),
    note,
    expiryError,
    h('h3', { t: 'manageLinks' }),
    h('div', { class: 'row' }, replaceButton, deleteButton),
    confirmHost,
    manageStatus,
    manageError,
  );
  editorControls.hidden = true;

  const render = (value: Role | null) => {
    editorControls.hidden = value !== 'editor';
    if (value === 'editor') {
      const viewer = expiring?.viewer ?? link.known.viewer;
      const overlay = expiring?.overlay ?? link.known.overlay;
      body.replaceChildren(
        row('shareEditor', 'editor', editorLink(origin, link.room, link.token, link.known)),
        row('shareViewer', 'viewer', viewer ? viewerLink(origin, link.room, viewer) : null),
        row('shareOverlay', 'overlay', overlay ? overlayLink(origin, link.room, overlay) : null),
      );
      showExpiry();
    } else if (value === 'viewer') {
      body.replaceChildren(row('shareViewer', 'viewer', viewerLink(origin, link.room, link.token)));
    } else {
      body.replaceChildren();
    }
  };
  role.watch((value) => {
    render(value);
    // An editor who came by a plain editor link asks the server for the other links.
    if (value === 'editor' && (!link.known.viewer || !link.known.overlay)) {
      api.links(link.room, link.token).then(
        ({ tokens }) => {
          link.known.viewer = tokens.viewer;
          link.known.overlay = tokens.overlay;
          render(role.value);
        },
        () => {},
      );
    }
  });
  // The copy buttons' labels name the link in the current language; the expiry date is in it too.
  onLangChange(() => render(role.value));

  return h(
    'section',
    { class: 'panel share-panel', attrs: { 'aria-labelledby': 'share-heading' } },
    h('h2', { id: 'share-heading', t: 'share' }),
    body,
    editorControls,
  );
}
