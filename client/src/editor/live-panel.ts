/**
 * Live mode (DESIGN.md, "Live mode"), co-edited in the document's `live` map: on or off, the live
 * prompt (a co-edited text, like a shot's), where the prompt comes from (the editors, or the
 * audience's suggestions, the top-voted taking over every `every` seconds), the queue of pending
 * suggestions with their votes, the one on air (pin it, skip it), an instant replay of the last
 * 30 s, and how many watch. The stream itself plays in the overlay; here its state is shown.
 */
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { suggestionStatusOf, suggestionsOf } from '../../../shared/doc-layout.js';
import { LIVE_LIMITS, liveOf, queueOf, readLive, votesOf } from '../../../shared/live.js';
import type { LiveState, Presence } from '../../../shared/protocol.js';
import { api, videoUrl } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import type { Signal } from '../lib/signal.js';
import { bindCheckbox, bindControl, numberCodec } from './bind.js';
import { createTextEditor } from './text-editor.js';

export interface LivePanelOptions {
  doc: Y.Doc;
  awareness: Awareness;
  room: string;
  token: Signal<string>;
  editable: Signal<boolean>;
  /** The room's socket events this panel shows. */
  onLiveState: (listener: (state: LiveState) => void) => void;
  onPresence: (listener: (presence: Presence) => void) => void;
}

export function createLivePanel(options: LivePanelOptions): HTMLElement {
  const { doc, editable, room, token } = options;
  const map = liveOf(doc);
  const canEdit = () => editable.value;

  const onId = uid('live-on');
  const on = h('input', { id: onId, class: 'edit-control', attrs: { type: 'checkbox' } });
  bindCheckbox(map, 'on', on, false, canEdit);

  const promptHost = h('div', { class: 'text-field live-prompt' });
  const textOf = (): Y.Text | null => {
    const value = map.get('prompt');
    return value instanceof Y.Text ? value : null;
  };
  const prompt = createTextEditor(promptHost, {
    text: textOf(),
    create: (initial) => {
      if (!canEdit()) return null;
      // Someone else's arrived first: theirs is the room's (what was typed here gives way).
      const existing = textOf();
      if (existing) return existing;
      const text = new Y.Text(initial);
      map.set('prompt', text);
      return text;
    },
    singleLine: true,
    awareness: options.awareness,
    editable: editable.value,
    maxChars: LIVE_LIMITS.promptChars,
    label: 'livePrompt',
    placeholder: 'livePromptPlaceholder',
  });

  map.observe((event) => {
    if (event.keysChanged.has('prompt')) prompt.setText(textOf());
  });
  editable.watch((value) => prompt.setEditable(value));

  const sourceId = uid('live-source');
  const source = h('select', { id: sourceId, class: 'edit-control' }, h('option', { t: 'liveFromEditors', attrs: { value: 'editor' } }), h('option', { t: 'liveFromSuggestions', attrs: { value: 'suggestions' } }));
  bindControl(map, 'source', source, { parse: (v) => (v === 'suggestions' ? 'suggestions' : 'editor'), format: (v) => (v === 'suggestions' ? 'suggestions' : 'editor') }, canEdit);
  const everyId = uid('live-every');
  const every = h('input', { id: everyId, class: 'edit-control', attrs: { type: 'number', min: LIVE_LIMITS.every.min, max: LIVE_LIMITS.every.max, step: 1 } });
  bindControl(map, 'every', every, numberCodec(LIVE_LIMITS.every.min, LIVE_LIMITS.every.max, LIVE_LIMITS.every.default, true), canEdit);

  // On air, and the queue with votes.
  const onAirText = h('p', { class: 'on-air' });
  const pin = h('button', { class: 'small edit-only', t: 'livePin', attrs: { type: 'button' } });
  const skip = h('button', { class: 'small edit-only', t: 'liveSkip', attrs: { type: 'button' } });
  pin.addEventListener('click', () => {
    if (!canEdit()) return;
    const live = readLive(doc);
    if (!live.onAir) return;
    map.set('pinned', live.pinned === live.onAir.suggestion ? null : live.onAir.suggestion);
  });
  // Skipping clears what is on air: the server puts the next one on at once.
  skip.addEventListener('click', () => canEdit() && doc.transact(() => (map.set('onAir', null), map.set('pinned', null))));
  const queue = h('ol', { class: 'live-queue' });
  const render = () => {
    const live = readLive(doc);
    const suggested = live.source === 'suggestions' && live.onAir;
    onAirText.textContent = suggested ? `${live.onAir!.text} — ${live.onAir!.author}` : live.prompt;
    pin.hidden = skip.hidden = !suggested;
    pin.classList.toggle('pressed', !!suggested && live.pinned === live.onAir!.suggestion);
    pin.disabled = skip.disabled = !editable.value;
    queue.replaceChildren(...queueOf(doc).slice(0, 10).map((s) => h('li', { attrs: { 'data-suggestion': s.id } }, h('span', { class: 'votes', text: String(s.votes) }), ' ', h('span', { class: 'text', text: s.text }), ' ', h('span', { class: 'author', text: `— ${s.author}` }))));
  };
  map.observe(render);
  votesOf(doc).observe(render);
  suggestionsOf(doc).observe(render);
  suggestionStatusOf(doc).observe(render);
  editable.watch(render);

  // State of the stream and who watches.
  const status = h('p', { class: 'live-status', attrs: { role: 'status' } });
  options.onLiveState((state) => {
    status.dataset.status = state.status;
    status.textContent = state.status === 'refused' ? `${state.status}: ${state.reason ?? ''}` : state.reason ? `${state.status}: ${state.reason}` : state.status;
  });
  const watching = h('p', { class: 'live-watching' });
  options.onPresence((p) => (watching.textContent = `${p.editor + p.viewer + p.overlay}`));

  // Instant replay.
  const replay = h('button', { class: 'edit-only', t: 'liveReplay', attrs: { type: 'button' } });
  const replayResult = h('p', { class: 'live-replay' });
  replay.addEventListener('click', async () => {
    if (!canEdit()) return;
    replay.disabled = true;
    replayResult.textContent = '…';
    try {
      let { clip } = await api.saveLiveClip(room, token.value);
      while (clip.status === 'encoding') {
        await new Promise((r) => setTimeout(r, 300));
        ({ clip } = await api.liveClip(room, clip.id, token.value));
      }
      if (clip.status === 'done' && clip.url) replayResult.replaceChildren(h('a', { text: `${clip.seconds.toFixed(1)} s`, attrs: { href: videoUrl(clip.url, token.value), download: `replay-${clip.id}.mp4` } }));
      else replayResult.textContent = clip.error?.message ?? 'failed';
    } catch (error) {
      replayResult.textContent = (error as Error).message;
    } finally {
      replay.disabled = !editable.value;
    }
  });
  editable.watch((value) => {
    for (const control of [on, source, every, replay]) control.disabled = !value;
  });
  render();

  return h(
    'section',
    { class: 'panel live-panel', attrs: { 'aria-labelledby': 'live-heading' } },
    h('h2', { id: 'live-heading', t: 'livePanel' }),
    h('p', { class: 'row' }, on, h('label', { t: 'liveOn', attrs: { for: onId } })),
    h('span', { class: 'field-label', t: 'livePrompt', attrs: { 'aria-hidden': 'true' } }),
    promptHost,
    h('p', { class: 'row' }, h('label', { t: 'liveSource', attrs: { for: sourceId } }), source, h('label', { t: 'liveEvery', attrs: { for: everyId } }), every),
    h('div', { class: 'row' }, h('span', { t: 'liveOnAir' }), onAirText, pin, skip),
    queue,
    status,
    h('p', { class: 'row' }, h('span', { t: 'liveWatching' }), watching),
    h('p', { class: 'row' }, replay, replayResult),
  );
}
