/**
 * The audience's side of the overlay (`?audience=1`): suggest a prompt, and vote on the pending
 * suggestions (one vote per suggestion; the server counts one per client). The list is the
 * document's suggestions in the order they would go on air, top-voted first; the server's answer
 * to a vote (or its refusal: already voted, too many votes) shows under the list.
 */
import { suggestionStatusOf, suggestionsOf } from '../../../shared/doc-layout.js';
import { queueOf, votesOf } from '../../../shared/live.js';
import type { RoomConnection } from '../lib/connection.js';
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

export function createAudienceForm(conn: RoomConnection): HTMLElement {
  const { doc, socket } = conn;
  const text = h('input', { class: 'suggest-text', aria: 'audienceSuggestion', placeholder: 'audienceSuggestion', attrs: { maxlength: 200, required: true } });
  const author = h('input', { class: 'suggest-author', aria: 'audienceName', placeholder: 'audienceName', attrs: { maxlength: 40 } });
  const message = h('p', { class: 'audience-message', attrs: { role: 'status' } });
  // How the model will read the suggestion, as it is typed.
  const reading = h('p', { class: 'reading', attrs: { 'aria-live': 'polite' } });
  let readTimer: number | null = null;
  let readSeq = 0;
  text.addEventListener('input', () => {
    if (readTimer !== null) clearTimeout(readTimer);
    readTimer = window.setTimeout(() => {
      const seq = ++readSeq;
      if (!text.value.trim()) return reading.replaceChildren();
      api.readPrompt(text.value, conn.token).then(
        (r) => {
          if (seq !== readSeq) return;
          const parts = [h('span', { class: 'read-as', t: 'readAs', vars: { reading: r.reading || '—' } })];
          if (r.ignored.length) parts.push(h('span', { class: 'ignored', t: 'readIgnored', vars: { words: r.ignored.join(', ') } }));
          reading.replaceChildren(...parts);
        },
        () => {},
      );
    }, 120);
  });
  const form = h('form', { class: 'suggest-form' }, text, author, h('button', { t: 'audienceSend', attrs: { type: 'submit' } }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { text: text.value.trim(), ...(author.value.trim() ? { author: author.value.trim() } : {}) };
    if (!body.text) return;
    socket.emit('suggestion:submit', body, (reply) => {
      if (reply.ok) {
        text.value = '';
        message.textContent = t('audienceSent');
      } else message.textContent = reply.error.message;
    });
  });

  const voted = new Set<string>();
  const list = h('ol', { class: 'vote-list' });
  const render = () => {
    const pending = queueOf(doc).slice(0, 8);
    list.replaceChildren(
      ...pending.map((s) => {
        const button = h('button', { class: 'vote', t: 'audienceVote', attrs: { type: 'button', 'aria-pressed': voted.has(s.id) } });
        button.disabled = voted.has(s.id);
        button.addEventListener('click', () => {
          button.disabled = true;
          socket.emit('suggestion:vote', { id: s.id }, (reply) => {
            if (reply.ok || reply.error.code === 'VOTE_REPEATED') voted.add(s.id);
            if (!reply.ok) message.textContent = reply.error.message;
            render();
          });
        });
        return h('li', { class: 'vote-item', attrs: { 'data-suggestion': s.id } }, h('span', { class: 'votes', text: String(s.votes) }), h('span', { class: 'text', text: s.text }), h('span', { class: 'author', text: s.author }), button);
      }),
    );
  };
  suggestionsOf(doc).observe(render);
  suggestionStatusOf(doc).observe(render);
  votesOf(doc).observe(render);
  doc.getMap('live').observe(render);
  render();
  return h('section', { class: 'audience' }, form, reading, list, message);
}
