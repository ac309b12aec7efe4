/**
 * Share links with copy buttons. Editors see all three (when they know the read-only tokens);
 * viewers see the viewer link only, which is their own.
 */
import type { Role } from '../../../shared/protocol.js';
import { api } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import { onLangChange, setText, t, type Key } from '../lib/i18n.js';
import { editorLink, overlayLink, viewerLink, type RoomLink } from '../lib/links.js';
import type { Signal } from '../lib/signal.js';

export function createSharePanel(link: RoomLink, role: Signal<Role | null>): HTMLElement {
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

  const render = (value: Role | null) => {
    if (value === 'editor') {
      const { viewer, overlay } = link.known;
      body.replaceChildren(
        row('shareEditor', 'editor', editorLink(origin, link.room, link.token, link.known)),
        row('shareViewer', 'viewer', viewer ? viewerLink(origin, link.room, viewer) : null),
        row('shareOverlay', 'overlay', overlay ? overlayLink(origin, link.room, overlay) : null),
      );
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
  // The copy buttons' labels name the link in the current language.
  onLangChange(() => render(role.value));

  return h('section', { class: 'panel share-panel', attrs: { 'aria-labelledby': 'share-heading' } }, h('h2', { id: 'share-heading', t: 'share' }), body);
}
