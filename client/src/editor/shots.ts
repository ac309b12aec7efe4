/**
 * The shot list: one card per shot map of the document, kept in document order. A card holds the
 * collaborative prompt (and optional negative prompt), duration and camera controls, the shot's
 * post-production (caption, narration with a warning when it will not fit, the transition into
 * the next shot, "continues the previous shot"), who else is in the shot, its validation problem
 * if any, and its live preview with a state badge.
 * Cards are keyed by their Y.Map, so a remote insert never rebuilds (or blurs) the card you type in.
 */
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { POST_LIMITS, TRANSITIONS, type TransitionType } from '../../../shared/post.js';
import type { PromptReading } from '../../../shared/protocol.js';
import { CAMERA_MOVES, DEFAULTS, LIMITS, type CameraMove, type ShotInput } from '../../../shared/scene.js';
import { readScene, shotJson, shotMap, shotsOf, type SkippedShot } from '../../../shared/scene-doc.js';
import { describeError } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import { onLangChange, setAttr, setText, t, type Key } from '../lib/i18n.js';
import { storedTransition } from '../lib/post-doc.js';
import { playPreview, type PreviewHub, type ShotPreview } from '../lib/previews.js';
import type { Signal } from '../lib/signal.js';
import { estimateSpokenSeconds } from '../lib/speech.js';
import { bindCheckbox, bindControl, bindPart, numberCodec, stringCodec, type Binding } from './bind.js';
import { people } from './presence.js';
import { createTextEditor, type TextEditor } from './text-editor.js';

export interface ShotListOptions {
  doc: Y.Doc;
  awareness: Awareness;
  previews: PreviewHub;
  editable: Signal<boolean>;
  /** This client is in shot `id` (focus inside its card), or in none. */
  onShotFocus: (id: string | null) => void;
  /** How the model reads a prompt (POST /api/prompts/read), shown under it as people type. */
  readPrompt?: (text: string) => Promise<PromptReading>;
}

export interface ShotList {
  el: HTMLElement;
  /** "Shot 2" for a shot id, null if it is not in the scene. */
  label(id: string): string | null;
  /** Adds a shot at the end; returns its id (null on a read-only page: nothing is added). */
  addShot(prompt?: string): string | null;
  destroy(): void;
}

export const newShotId = (): string => `shot-${Math.random().toString(36).slice(2, 10)}`;

const cameraKey = (move: CameraMove): Key => `camera.${move}`;
const transitionKey = (type: TransitionType): Key => `transition.${type}`;

/** Seconds a transition gets when one is first chosen. */
const DEFAULT_TRANSITION_SECONDS = 0.5;

interface Card {
  map: Y.Map<unknown>;
  id: string;
  el: HTMLElement;
  index: number;
  setIndex(index: number, total: number): void;
  relabel(): void;
  setIssue(skipped: SkippedShot | undefined): void;
  setEditable(editable: boolean): void;
  renderPresence(): void;
  renderBadge(): void;
  focusControl(name: 'up' | 'down' | 'remove' | 'prompt'): void;
  destroy(): void;
}

export function createShotList(options: ShotListOptions): ShotList {
  const { doc, awareness, previews, editable } = options;
  // Every write below checks this, not only the buttons' state: scripts can click hidden buttons.
  const canEdit = () => editable.value;
  const shots = shotsOf(doc);
  const cards = new Map<Y.Map<unknown>, Card>();
  let pendingFocus: { map: Y.Map<unknown>; control: 'up' | 'down' | 'remove' | 'prompt' } | null = null;

  const list = h('ol', { class: 'shot-list' });
  const empty = h('p', { class: 'empty', t: 'noShots' });
  const addButton = h('button', { class: 'add-shot edit-only', t: 'addShot', attrs: { type: 'button' }, on: { click: () => focusNew(addShot()) } });
  const el = h('section', { class: 'shots', attrs: { 'aria-labelledby': 'shots-heading' } }, h('h2', { id: 'shots-heading', t: 'shots' }), empty, list, addButton);

  function addShot(prompt = ''): string | null {
    if (!canEdit()) return null;
    const id = newShotId();
    shots.push([shotMap({ id, prompt, duration: DEFAULTS.duration, camera: DEFAULTS.camera })]);
    return id;
  }

  function focusNew(id: string | null): void {
    if (id === null) return;
    const map = shots.toArray().find((m) => m.get('id') === id);
    if (map) cards.get(map)?.focusControl('prompt');
  }

  function move(card: Card, delta: -1 | 1): void {
    if (!canEdit()) return;
    const from = shots.toArray().indexOf(card.map);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= shots.length) return;
    // Yjs has no move: the shot is copied to its new place (same id, so its preview stays).
    const copy = shotMap(shotJson(card.map) as ShotInput);
    doc.transact(() => {
      shots.delete(from, 1);
      shots.insert(to, [copy]);
    });
    pendingFocus = { map: copy, control: delta < 0 ? 'up' : 'down' };
    reconcile();
  }

  function remove(card: Card): void {
    if (!canEdit()) return;
    const index = shots.toArray().indexOf(card.map);
    if (index < 0) return;
    shots.delete(index, 1);
    reconcile();
    const next = [...list.children][Math.min(index, list.children.length - 1)];
    const nextCard = [...cards.values()].find((c) => c.el === next);
    if (nextCard) nextCard.focusControl('remove');
    else addButton.focus();
  }

  function createCard(map: Y.Map<unknown>): Card {
    const id = String(map.get('id') ?? '');
    let index = 0;
    const vars = () => ({ n: index + 1 });
    const headingId = uid('shot');
    const title = h('h3', { id: headingId });
    const idTag = h('span', { class: 'shot-id', text: id });
    const others = h('span', { class: 'others' });
    const upButton = h('button', { class: 'icon edit-only', text: '↑', attrs: { type: 'button' }, on: { click: () => move(card, -1) } });
    const downButton = h('button', { class: 'icon edit-only', text: '↓', attrs: { type: 'button' }, on: { click: () => move(card, 1) } });
    const removeButton = h('button', { class: 'icon danger edit-only', text: '✕', attrs: { type: 'button' }, on: { click: () => remove(card) } });

    // Prompt
    const promptLabelId = uid('prompt-label');
    const promptLabel = h('span', { id: promptLabelId, class: 'label', t: 'prompt' });
    const counter = h('span', { class: 'counter', attrs: { 'aria-hidden': 'true' } });
    const promptHost = h('div', { class: 'text-field prompt' });
    const prompt = createTextEditor(promptHost, {
      text: map.get('prompt') as Y.Text,
      awareness,
      editable: editable.value,
      maxChars: LIMITS.promptChars,
      label: 'promptOf',
      labelVars: vars(),
      placeholder: 'promptPlaceholder',
      onLengthChange: (length) => {
        counter.textContent = `${length}/${LIMITS.promptChars}`;
      },
      onTextChange: (text) => showReading(text),
    });
    // How the model reads it: the reading, the ignored words and the camera its words ask for.
    const reading = h('p', { class: 'reading', attrs: { 'aria-live': 'polite' } });
    let readTimer: number | null = null;
    let readSeq = 0;
    function showReading(text: string): void {
      if (!options.readPrompt) return;
      if (readTimer !== null) clearTimeout(readTimer);
      readTimer = window.setTimeout(() => {
        const seq = ++readSeq;
        options.readPrompt!(text).then(
          (r) => {
            if (seq !== readSeq) return;
            const parts = [h('span', { class: 'read-as', t: 'readAs', vars: { reading: r.reading || '—' } })];
            if (r.ignored.length) parts.push(h('span', { class: 'ignored', t: 'readIgnored', vars: { words: r.ignored.join(', ') } }));
            // The camera chosen for the shot wins over the one its words ask for: say which applies.
            const chosen = map.get('camera');
            if (r.camera && typeof chosen === 'string' && chosen !== 'static' && chosen !== r.camera) parts.push(h('span', { class: 'read-camera overridden', t: 'readCameraChosen', vars: { camera: t(cameraKey(chosen as CameraMove)), words: t(cameraKey(r.camera)) } }));
            else if (r.camera) parts.push(h('span', { class: 'read-camera', t: 'readCamera', vars: { camera: t(cameraKey(r.camera)) } }));
            reading.replaceChildren(...parts);
            reading.dataset.ignored = r.ignored.join(' ');
          },
          () => {},
        );
      }, 120);
    }
    showReading((map.get('prompt') as Y.Text | undefined)?.toString() ?? '');

    // Duration and camera
    const durationId = uid('duration');
    const duration = h('input', {
      id: durationId,
      class: 'edit-control',
      attrs: { type: 'number', min: LIMITS.minDuration, max: LIMITS.maxDuration, step: 0.5, inputmode: 'decimal', required: true },
    });
    const cameraId = uid('camera');
    const camera = h(
      'select',
      { id: cameraId, class: 'edit-control' },
      ...CAMERA_MOVES.map((move) => h('option', { t: cameraKey(move), attrs: { value: move } })),
    );
    const bindings: Binding[] = [
      bindControl(map, 'duration', duration, numberCodec(LIMITS.minDuration, LIMITS.maxDuration, DEFAULTS.duration), canEdit),
      bindControl(
        map,
        'camera',
        camera,
        {
          parse: (text) => ((CAMERA_MOVES as readonly string[]).includes(text) ? text : null),
          format: (value) => stringCodec(DEFAULTS.camera).format(value),
        },
        canEdit,
      ),
    ];

    // Negative prompt (optional)
    const negativeHost = h('div', { class: 'text-field negative' });
    const addNegative = h('button', {
      class: 'link edit-only',
      t: 'addNegative',
      attrs: { type: 'button' },
      on: {
        click: () => {
          if (!canEdit()) return;
          map.set('negative', new Y.Text());
          negative?.view.focus();
        },
      },
    });
    const removeNegative = h('button', { class: 'link edit-only', t: 'removeNegative', attrs: { type: 'button' }, on: { click: () => canEdit() && map.delete('negative') } });
    const negativeBox = h('div', { class: 'negative-box' }, h('span', { class: 'label', t: 'negative' }), negativeHost, removeNegative);
    let negative: TextEditor | null = null;
    let negativeText: Y.Text | null = null;
    const syncNegative = () => {
      const value = map.get('negative');
      const text = value instanceof Y.Text ? value : null;
      negativeBox.hidden = !text;
      addNegative.hidden = !!text;
      if (text === negativeText) return;
      negative?.destroy();
      negative = null;
      negativeText = text;
      if (text) {
        negative = createTextEditor(negativeHost, {
          text,
          awareness,
          editable: editable.value,
          maxChars: LIMITS.promptChars,
          label: 'negativeOf',
          labelVars: vars(),
          placeholder: 'negativePlaceholder',
        });
      }
    };

    // Caption and narration: co-edited like the prompt, put in the document on the first keystroke.
    const textOf = (key: 'caption' | 'narration') => {
      const value = map.get(key);
      return value instanceof Y.Text ? value : null;
    };
    const createText = (key: 'caption' | 'narration') => (initial: string) => {
      if (!canEdit()) return null;
      // Someone else's arrived first: theirs is the shot's (what was typed here gives way).
      const existing = textOf(key);
      if (existing) return existing;
      const text = new Y.Text(initial);
      map.set(key, text);
      return text;
    };
    const captionLabelId = uid('caption-label');
    const captionCounter = h('span', { class: 'counter', attrs: { 'aria-hidden': 'true' } });
    const captionHost = h('div', { class: 'text-field caption' });
    const caption = createTextEditor(captionHost, {
      text: textOf('caption'),
      create: createText('caption'),
      singleLine: true,
      awareness,
      editable: editable.value,
      maxChars: POST_LIMITS.captionChars,
      label: 'captionOf',
      labelVars: vars(),
      placeholder: 'captionPlaceholder',
      onLengthChange: (length) => {
        captionCounter.textContent = `${length}/${POST_LIMITS.captionChars}`;
      },
    });
    const narrationLabelId = uid('narration-label');
    const narrationCounter = h('span', { class: 'counter', attrs: { 'aria-hidden': 'true' } });
    const narrationHost = h('div', { class: 'text-field narration' });
    const narrationWarning = h('p', { class: 'narration-warning', id: uid('narration-warning'), attrs: { role: 'status' } });
    narrationWarning.hidden = true;
    let narrationText = textOf('narration')?.toString() ?? '';
    const updateNarrationWarning = () => {
      const spoken = estimateSpokenSeconds(narrationText);
      const seconds = Number(map.get('duration') ?? DEFAULTS.duration);
      const tooLong = narrationText.trim() !== '' && Number.isFinite(seconds) && spoken > seconds;
      narrationWarning.hidden = !tooLong;
      if (tooLong) setText(narrationWarning, 'narrationTooLong', { spoken: spoken.toFixed(1), seconds: String(seconds) });
      else narrationWarning.textContent = '';
    };
    const narration = createTextEditor(narrationHost, {
      text: textOf('narration'),
      create: createText('narration'),
      awareness,
      editable: editable.value,
      maxChars: POST_LIMITS.narrationChars,
      label: 'narrationOf',
      labelVars: vars(),
      placeholder: 'narrationPlaceholder',
      onLengthChange: (length) => {
        narrationCounter.textContent = `${length}/${POST_LIMITS.narrationChars}`;
      },
      onTextChange: (text) => {
        narrationText = text;
        updateNarrationWarning();
      },
    });
    narration.view.contentDOM.setAttribute('aria-describedby', narrationWarning.id);

    // Transition into the next shot (not on the last shot) and "continues the previous shot" (not on the first).
    const transitionId = uid('transition');
    const transitionType = h(
      'select',
      { id: transitionId, class: 'edit-control transition-type' },
      ...TRANSITIONS.map((type) => h('option', { t: transitionKey(type), attrs: { value: type } })),
    );
    const transitionSecondsId = uid('transition-seconds');
    const transitionSeconds = h('input', {
      id: transitionSecondsId,
      class: 'edit-control transition-seconds',
      attrs: { type: 'number', min: 0, max: POST_LIMITS.maxTransition, step: 0.1, inputmode: 'decimal' },
    });
    const transitionBox = h(
      'div',
      { class: 'row transition' },
      h('div', { class: 'field' }, h('label', { attrs: { for: transitionId }, t: 'transition' }), transitionType),
      h('div', { class: 'field' }, h('label', { attrs: { for: transitionSecondsId }, t: 'transitionSeconds' }), transitionSeconds),
    );
    const continueId = uid('continue');
    const continues = h('input', { id: continueId, class: 'edit-control', attrs: { type: 'checkbox' } });
    const continueBox = h('div', { class: 'check continue' }, continues, h('label', { attrs: { for: continueId }, t: 'continuePrevious' }));
    const secondsCodec = numberCodec(0, POST_LIMITS.maxTransition, DEFAULT_TRANSITION_SECONDS);
    const showTransition = () => {
      // A cut has no length.
      transitionSeconds.disabled = !editable.value || !storedTransition(map.get('transition')) || storedTransition(map.get('transition'))?.type === 'cut';
    };
    bindings.push(
      bindPart(
        map,
        'transition',
        transitionType,
        {
          format: (stored) => storedTransition(stored)?.type ?? 'cut',
          update: (text, stored) => {
            if (!(TRANSITIONS as readonly string[]).includes(text)) return null;
            if (text === 'cut') return undefined;
            return { type: text as TransitionType, duration: storedTransition(stored)?.duration || DEFAULT_TRANSITION_SECONDS };
          },
        },
        canEdit,
      ),
      bindPart(
        map,
        'transition',
        transitionSeconds,
        {
          format: (stored) => secondsCodec.format(storedTransition(stored)?.duration),
          update: (text, stored) => {
            const seconds = secondsCodec.parse(text);
            const current = storedTransition(stored);
            if (seconds === null) return null;
            // Nothing to lengthen on a cut (the field is disabled then).
            if (!current || current.type === 'cut') return stored;
            return { type: current.type, duration: Math.round(seconds * 10) / 10 };
          },
        },
        canEdit,
      ),
      bindCheckbox(map, 'continue', continues, false, canEdit, 'delete'),
    );

    const issue = h('p', { class: 'issue', attrs: { role: 'alert' } });
    issue.hidden = true;
    let currentIssue: SkippedShot | undefined;

    // Preview
    const canvas = h('canvas', { class: 'preview-canvas', attrs: { width: 64, height: 36, role: 'img' } });
    const badge = h('span', { class: 'badge' });
    const preview = previews.get(id);
    const stopPlayer = playPreview(canvas, () => preview);

    const el = h(
      'li',
      { class: 'shot', attrs: { 'data-shot': id, 'aria-labelledby': headingId } },
      h('div', { class: 'shot-head' }, title, idTag, others, h('span', { class: 'spacer' }), upButton, downButton, removeButton),
      h(
        'div',
        { class: 'shot-body' },
        h(
          'div',
          { class: 'shot-fields' },
          h('div', { class: 'field', attrs: { role: 'group', 'aria-labelledby': promptLabelId } }, h('div', { class: 'label-row' }, promptLabel, counter), promptHost, reading),
          h(
            'div',
            { class: 'row' },
            h('div', { class: 'field' }, h('label', { attrs: { for: durationId }, t: 'duration' }), duration),
            h('div', { class: 'field' }, h('label', { attrs: { for: cameraId }, t: 'camera' }), camera),
          ),
          h(
            'div',
            { class: 'post-fields' },
            h('div', { class: 'field', attrs: { role: 'group', 'aria-labelledby': captionLabelId } }, h('div', { class: 'label-row' }, h('span', { id: captionLabelId, class: 'label', t: 'caption' }), captionCounter), captionHost),
            h(
              'div',
              { class: 'field', attrs: { role: 'group', 'aria-labelledby': narrationLabelId } },
              h('div', { class: 'label-row' }, h('span', { id: narrationLabelId, class: 'label', t: 'narration' }), narrationCounter),
              narrationHost,
              narrationWarning,
            ),
            h('div', { class: 'row' }, continueBox, transitionBox),
          ),
          negativeBox,
          addNegative,
          issue,
        ),
        h('figure', { class: 'shot-preview' }, canvas, h('figcaption', {}, badge)),
      ),
    );
    el.addEventListener('focusin', () => options.onShotFocus(id));
    el.addEventListener('focusout', (event) => {
      const next = event.relatedTarget as Node | null;
      if (!next || !list.contains(next)) options.onShotFocus(null);
    });

    const onMap = (event: Y.YMapEvent<unknown>) => {
      if (event.keysChanged.has('negative')) syncNegative();
      if (event.keysChanged.has('caption')) caption.setText(textOf('caption'));
      if (event.keysChanged.has('narration')) narration.setText(textOf('narration'));
      if (event.keysChanged.has('duration')) updateNarrationWarning();
      if (event.keysChanged.has('transition')) showTransition();
      if (event.keysChanged.has('camera')) showReading((map.get('prompt') as Y.Text | undefined)?.toString() ?? '');
    };
    map.observe(onMap);
    syncNegative();
    updateNarrationWarning();

    const card: Card = {
      map,
      id,
      el,
      get index() {
        return index;
      },
      setIndex(next, total) {
        upButton.disabled = !editable.value || next === 0;
        downButton.disabled = !editable.value || next === total - 1;
        transitionBox.hidden = next === total - 1;
        continueBox.hidden = next === 0;
        if (next === index && title.textContent) return;
        index = next;
        setText(title, 'shotN', vars());
        setAttr(canvas, 'aria-label', 'previewOf', vars());
        setAttr(upButton, 'aria-label', 'moveUp', vars());
        setAttr(downButton, 'aria-label', 'moveDown', vars());
        setAttr(removeButton, 'aria-label', 'removeShot', vars());
        card.relabel();
      },
      relabel() {
        // Texts with data-t keys follow the language by themselves; these do not.
        prompt.relabel(vars());
        negative?.relabel(vars());
        caption.relabel(vars());
        narration.relabel(vars());
        updateNarrationWarning();
        card.setIssue(currentIssue);
        card.renderBadge();
      },
      setIssue(skipped) {
        currentIssue = skipped;
        const first = skipped?.issues[0];
        issue.hidden = !first;
        issue.textContent = first ? describeError(first.code, first.message) : '';
      },
      setEditable(value) {
        prompt.setEditable(value);
        negative?.setEditable(value);
        duration.disabled = !value;
        camera.disabled = !value;
        caption.setEditable(value);
        narration.setEditable(value);
        transitionType.disabled = !value;
        continues.disabled = !value;
        showTransition();
      },
      renderPresence() {
        const here = people(awareness).filter((p) => !p.self && p.shot === id);
        others.replaceChildren(
          ...here.map((p) => {
            const avatar = h('span', { class: 'avatar', text: p.user.name, attrs: { title: p.user.name } });
            avatar.style.setProperty('--c', p.user.color);
            return avatar;
          }),
        );
      },
      renderBadge() {
        renderBadge(badge, preview);
        el.classList.toggle('stale', preview.state?.status === 'refused' || preview.state?.status === 'failed');
      },
      focusControl(name) {
        if (name === 'prompt') return prompt.view.focus();
        // A shot moved to the top (or bottom) cannot go further: the other move button gets the focus.
        const target = name === 'up' && upButton.disabled ? downButton : name === 'down' && downButton.disabled ? upButton : { up: upButton, down: downButton, remove: removeButton }[name];
        target.focus();
      },
      destroy() {
        stopPlayer();
        map.unobserve(onMap);
        for (const binding of bindings) binding.destroy();
        prompt.destroy();
        negative?.destroy();
        caption.destroy();
        narration.destroy();
        el.remove();
      },
    };
    card.setEditable(editable.value);
    card.renderBadge();
    card.renderPresence();
    return card;
  }

  let frame = 0;
  function reconcile(): void {
    cancelAnimationFrame(frame);
    frame = 0;
    const maps = shots.toArray().filter((m): m is Y.Map<unknown> => m instanceof Y.Map);
    const present = new Set(maps);
    for (const [map, card] of cards) {
      if (present.has(map)) continue;
      card.destroy();
      cards.delete(map);
    }
    const { skipped } = readScene(doc);
    maps.forEach((map, i) => {
      let card = cards.get(map);
      if (!card) {
        card = createCard(map);
        cards.set(map, card);
      }
      // Move only what is out of place: re-inserting a node would blur the field being typed in.
      const at = list.children[i];
      if (at !== card.el) list.insertBefore(card.el, at ?? null);
      card.setIndex(i, maps.length);
      card.setIssue(skipped.find((s) => s.index === i));
    });
    previews.retain(new Set(maps.map((m) => String(m.get('id')))));
    empty.hidden = maps.length > 0;
    if (pendingFocus) {
      cards.get(pendingFocus.map)?.focusControl(pendingFocus.control);
      pendingFocus = null;
    }
  }
  const scheduleReconcile = () => {
    if (!frame) frame = requestAnimationFrame(reconcile);
  };

  // Structure changes (add, remove, move) at once; text edits only re-validate, once per frame.
  const onShots = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
    if (events.some((event) => event.target === shots)) reconcile();
    else scheduleReconcile();
  };
  shots.observeDeep(onShots);
  const stopPreviews = previews.onChange((preview) => {
    for (const card of cards.values()) if (card.id === preview.shot) card.renderBadge();
  });
  const renderPresence = () => {
    for (const card of cards.values()) card.renderPresence();
  };
  awareness.on('change', renderPresence);
  const stopEditable = editable.watch((value) => {
    for (const card of cards.values()) {
      card.setEditable(value);
      card.setIndex(card.index, cards.size);
    }
  });
  const stopLang = onLangChange(() => {
    for (const card of cards.values()) card.relabel();
  });
  reconcile();

  return {
    el,
    label(id) {
      const index = shots.toArray().findIndex((m) => m.get('id') === id);
      return index < 0 ? null : t('shotN', { n: index + 1 });
    },
    addShot,
    destroy() {
      shots.unobserveDeep(onShots);
      awareness.off('change', renderPresence);
      stopPreviews();
      stopEditable();
      stopLang();
      for (const card of cards.values()) card.destroy();
      cards.clear();
    },
  };
}

function renderBadge(badge: HTMLElement, preview: ShotPreview): void {
  const state = preview.state;
  const status = state?.status ?? (preview.hasFrames() ? 'done' : 'none');
  badge.className = `badge state-${status}`;
  badge.dataset.status = status;
  const label = t(`state.${status}` as Key);
  if (state && (status === 'refused' || status === 'failed')) {
    const why = state.code === 'SHOT_PROMPT_EMPTY' ? t('previewEmpty') : describeError(state.code, state.reason);
    badge.textContent = `${label}: ${why}`;
  } else {
    badge.textContent = label;
  }
}
