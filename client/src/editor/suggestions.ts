/**
 * Audience suggestions (the document's `suggestions`, appended by the server) with the editors'
 * decisions (`suggestionStatus`): accept (it shows on the overlay), dismiss, or make a shot from
 * it in one click (adds the shot and accepts the suggestion, in one transaction).
 */
import type * as Y from 'yjs';
import { suggestionStatusOf, suggestionsOf, type Suggestion } from '../../../shared/scene-doc.js';
import { h } from '../lib/dom.js';
import { setText, type Key } from '../lib/i18n.js';
import type { Signal } from '../lib/signal.js';

export function createSuggestionsPanel(doc: Y.Doc, editable: Signal<boolean>, addShot: (prompt: string) => string | null): HTMLElement {
  const list = suggestionsOf(doc);
  const statuses = suggestionStatusOf(doc);
  const ul = h('ul', { class: 'suggestions' });
  const empty = h('p', { class: 'empty', t: 'noSuggestions' });
  const items = new Map<string, { li: HTMLElement; update: () => void }>();

  const item = (s: Suggestion) => {
    const short = s.text.length > 40 ? `${s.text.slice(0, 40)}…` : s.text;
    const status = h('span', { class: 'status' });
    // Read-only pages write nothing, whatever clicks the (hidden, disabled) buttons.
    const button = (key: Key, aria: Key, action: () => void) =>
      h('button', { class: 'small edit-only', t: key, aria, vars: { text: short }, attrs: { type: 'button' }, on: { click: () => editable.value && action() } });
    const accept = button('accept', 'acceptN', () => statuses.set(s.id, 'accepted'));
    const dismiss = button('dismiss', 'dismissN', () => statuses.set(s.id, 'dismissed'));
    const make = button('makeShot', 'makeShotN', () =>
      doc.transact(() => {
        if (addShot(s.text) !== null) statuses.set(s.id, 'accepted');
      }),
    );
    const li = h(
      'li',
      { class: 'suggestion', attrs: { 'data-suggestion': s.id } },
      h('p', { class: 'text', text: s.text }),
      h('p', { class: 'meta' }, h('span', { t: 'byAuthor', vars: { author: s.author } }), ' · ', h('time', { text: new Date(s.at).toLocaleTimeString(), attrs: { datetime: new Date(s.at).toISOString() } }), ' ', status),
      h('div', { class: 'actions' }, accept, dismiss, make),
    );
    const update = () => {
      const value = statuses.get(s.id);
      li.dataset.status = value ?? 'new';
      if (value) setText(status, `status.${value}`);
      else status.textContent = '';
      accept.disabled = !editable.value || value === 'accepted';
      dismiss.disabled = !editable.value || value === 'dismissed';
      make.disabled = !editable.value;
    };
    update();
    return { li, update };
  };

  const render = () => {
    const all = list.toArray();
    const ids = new Set(all.map((s) => s.id));
    for (const [id, entry] of items) {
      if (ids.has(id)) continue;
      entry.li.remove();
      items.delete(id);
    }
    // Newest first.
    [...all].reverse().forEach((s, i) => {
      let entry = items.get(s.id);
      if (!entry) {
        entry = item(s);
        items.set(s.id, entry);
      }
      const at = ul.children[i];
      if (at !== entry.li) ul.insertBefore(entry.li, at ?? null);
      entry.update();
    });
    empty.hidden = all.length > 0;
  };
  list.observe(render);
  statuses.observe(render);
  editable.watch(render);

  return h('section', { class: 'panel suggestions-panel', attrs: { 'aria-labelledby': 'suggestions-heading' } }, h('h2', { id: 'suggestions-heading', t: 'suggestions' }), empty, ul);
}
