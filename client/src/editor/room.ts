/**
 * The room page: connects the document and the event stream, then lays out the scene settings,
 * the shot list, presence, the whole-scene player, the scene's sound and captions, the render
 * panel, suggestions and share links.
 * Until the server says which role the token has, nothing is editable; viewers stay that way.
 * Every local write to the document (here, shots.ts, audio-panel.ts, suggestions.ts, text-editor.ts) checks
 * `editable` itself: a read-only page never changes its document, whatever its controls are sent.
 */
import type { CreateRoomResponse, Role } from '../../../shared/protocol.js';
import { DEFAULTS, LIMITS } from '../../../shared/scene.js';
import { metaOf, shotsOf } from '../../../shared/scene-doc.js';
import { TEMPLATES, type Template } from '../../../shared/templates.js';
import { api, describeError } from '../lib/api.js';
import { connect, ROOM_ENDED } from '../lib/connection.js';
import { h, uid } from '../lib/dom.js';
import { isKey, lang, onLangChange, setText } from '../lib/i18n.js';
import { editorLink, forgetTokens, rememberTokens, type RoomLink } from '../lib/links.js';
import { PreviewHub } from '../lib/previews.js';
import { RenderTracker } from '../lib/render-tracker.js';
import { Signal } from '../lib/signal.js';
import { createAudioPanel } from './audio-panel.js';
import { createLivePanel } from './live-panel.js';
import { bindControl, numberCodec, stringCodec } from './bind.js';
import { createPresence } from './presence.js';
import { createRenderPanel } from './render-panel.js';
import { createScenePlayer } from './scene-player.js';
import { createSharePanel } from './share.js';
import { createShotList } from './shots.js';
import { createSuggestionsPanel } from './suggestions.js';

export function openRoom(app: HTMLElement, toolbar: HTMLElement, link: RoomLink): void {
  const role = new Signal<Role | null>(null);
  const editable = new Signal(false);
  /** The page's token: replacing the room's links gives an editor's page a new one. */
  const token = new Signal(link.token);
  const fatal = h('div', { class: 'banner error', attrs: { role: 'alert' } });
  fatal.hidden = true;
  const reload = h('button', { class: 'reload', t: 'reload', attrs: { type: 'button' }, on: { click: () => location.reload() } });
  reload.hidden = true;
  let fatalError: { code: string; message: string } | null = null;

  const conn = connect({
    room: link.room,
    token: link.token,
    onRole: (value) => role.set(value),
    onFatal: (code, message) => fail(code, message),
  });
  onLangChange(() => {
    if (fatalError) fatal.textContent = describeError(fatalError.code, fatalError.message);
  });
  window.addEventListener('pagehide', () => conn.close());
  const { doc, provider, socket } = conn;
  const awareness = provider.awareness;

  role.watch((value) => {
    editable.set(value === 'editor');
    document.body.dataset.role = value ?? 'pending';
    if (value === 'editor') rememberTokens(link.room, { editor: link.token, ...link.known });
  });
  editable.watch((value) => document.body.classList.toggle('can-edit', value));

  // Previews and renders from the event stream.
  const previews = new PreviewHub();
  socket.on('preview:frame', (frame) => void previews.frame(frame));
  socket.on('preview:state', (state) => previews.state(state));
  const tracker = new RenderTracker(socket, () => token.value);
  // Once the token is known good: a reload (or a newcomer) sees the room's last render, whoever started it.
  let lookedUp = false;
  role.watch((value) => {
    if (!value || lookedUp) return;
    lookedUp = true;
    api.latestRender(link.room, token.value).then(
      ({ render }) => {
        if (render && !tracker.current) tracker.adopt(render);
      },
      () => {},
    );
  });

  // Connection status.
  const status = h('span', { class: 'conn', attrs: { 'aria-live': 'polite' } });
  setText(status, 'connecting');
  provider.on('status', ({ status: s }) => {
    if (!fatalError) setText(status, s === 'connected' ? 'connected' : s === 'connecting' ? 'connecting' : 'disconnected');
  });
  const roleBadge = h('span', { class: 'role-badge' });
  role.watch((value) => {
    if (value) setText(roleBadge, value === 'editor' ? 'roleEditor' : value === 'overlay' ? 'roleOverlay' : 'roleViewer');
  });

  // Scene settings: title, fps, template.
  const meta = metaOf(doc);
  const titleId = uid('title');
  const title = h('input', { id: titleId, class: 'title-input edit-control', attrs: { type: 'text', maxlength: LIMITS.titleChars } });
  const fpsId = uid('fps');
  const fps = h('input', { id: fpsId, class: 'edit-control', attrs: { type: 'number', min: LIMITS.minFps, max: LIMITS.maxFps, step: 1, inputmode: 'numeric' } });
  const templateId = uid('template');
  const template = h('select', { id: templateId, class: 'edit-control' });
  const templateHelp = h('p', { class: 'muted template-help', id: uid('template-help') });
  template.setAttribute('aria-describedby', templateHelp.id);
  let templates: readonly Template[] = TEMPLATES;
  const renderTemplates = () => {
    const current = String(meta.get('template') ?? DEFAULTS.template);
    const known = templates.some((tpl) => tpl.id === current);
    template.replaceChildren(
      ...templates.map((tpl) => h('option', { text: tpl.name[lang()], attrs: { value: tpl.id } })),
      ...(known ? [] : [h('option', { text: current, attrs: { value: current } })]),
    );
    template.value = current;
    templateHelp.textContent = templates.find((tpl) => tpl.id === current)?.description[lang()] ?? '';
  };
  api.templates().then(
    (list) => {
      templates = list.templates;
      renderTemplates();
    },
    () => {},
  );
  onLangChange(renderTemplates);
  const heading = h('h1', { class: 'visually-hidden' });
  const showTitle = () => {
    const text = String(meta.get('title') ?? '');
    heading.textContent = text;
    document.title = `${text} · scenecast`;
  };
  meta.observe((event) => {
    if (event.keysChanged.has('template')) renderTemplates();
    if (event.keysChanged.has('title')) showTitle();
  });

  const settings = h(
    'section',
    { class: 'scene-settings' },
    h('div', { class: 'field grow' }, h('label', { attrs: { for: titleId }, t: 'sceneTitle' }), title),
    h('div', { class: 'field' }, h('label', { attrs: { for: templateId }, t: 'template' }), template, templateHelp),
    h('div', { class: 'field narrow' }, h('label', { attrs: { for: fpsId }, t: 'fps' }), fps),
  );

  // Shots and presence.
  let shotLabel: (id: string) => string | null = () => null;
  const presence = createPresence(awareness, (id) => shotLabel(id));
  role.watch((value) => {
    if (value) presence.setRole(value);
  });
  const shotList = createShotList({ doc, awareness, previews, editable, onShotFocus: (id) => presence.setShot(id), readPrompt: (text) => api.readPrompt(text, token.value) });
  shotLabel = shotList.label;
  // "in Shot 2" changes when shots move.
  shotsOf(doc).observe(() => presence.refresh());
  const counts = h('p', { class: 'muted counts' });
  socket.on('room:presence', (p) => setText(counts, 'peopleCount', { editor: p.editor, viewer: p.viewer, overlay: p.overlay }));
  presence.list.append(counts);

  const readOnly = h('div', { class: 'banner readonly', t: 'readOnlyBanner', attrs: { role: 'note' } });
  role.watch((value) => (readOnly.hidden = value !== 'viewer'));

  const loading = h('p', { class: 'loading', t: 'loading' });
  const main = h('div', { class: 'main-col' }, settings, shotList.el);
  main.hidden = true;
  provider.on('sync', (synced) => {
    if (!synced) return;
    loading.remove();
    main.hidden = false;
    showTitle();
  });

  const canEdit = () => editable.value;
  bindControl(meta, 'title', title, stringCodec(DEFAULTS.title, LIMITS.titleChars), canEdit);
  bindControl(meta, 'fps', fps, numberCodec(LIMITS.minFps, LIMITS.maxFps, DEFAULTS.fps, true), canEdit);
  bindControl(meta, 'template', template, { parse: (v) => (/^[a-z0-9-]{1,40}$/.test(v) ? v : null), format: (v) => stringCodec(DEFAULTS.template).format(v) }, canEdit);
  editable.watch((value) => {
    for (const control of [title, fps, template]) control.disabled = !value;
  });

  toolbar.replaceChildren(roleBadge, status);
  app.replaceChildren(
    heading,
    h('div', { class: 'fatal' }, fatal, reload),
    readOnly,
    h(
      'div',
      { class: 'room' },
      h('div', { class: 'main-wrap' }, loading, main),
      h(
        'aside',
        { class: 'side-col' },
        createScenePlayer({ doc, previews, room: link.room, token }),
        createAudioPanel({ doc, room: link.room, token, editable }),
        createLivePanel({
          doc,
          awareness,
          room: link.room,
          token,
          editable,
          onLiveState: (listener) => socket.on('live:state', listener),
          onPresence: (listener) => socket.on('room:presence', listener),
        }),
        createRenderPanel(link.room, token, tracker, editable),
        createSuggestionsPanel(doc, editable, (prompt) => shotList.addShot(prompt)),
        h('section', { class: 'panel you-panel', aria: 'yourName' }, presence.identity),
        presence.list,
        createSharePanel({ link, role, replaceLinks, deleteRoom }),
      ),
    ),
  );

  /**
   * Replacing the links revokes this page's own token too. The page switches in place rather than
   * being torn down and rebuilt: same Y.Doc, same views, caret and focus. Both connections pause
   * before the request (so the server closing the old token's connections is not taken for the
   * end of this page) and resume with the new editor token after it; what was typed meanwhile
   * waits in the doc and goes out with the Yjs sync on reconnect. A rebuilt view on a new doc
   * would drop edits not yet sent, and the caret.
   */
  async function replaceLinks(): Promise<CreateRoomResponse> {
    conn.pause();
    let links: CreateRoomResponse;
    try {
      // Without an expiry: these are the links the editor link carries; the share panel asks for expiring ones itself.
      links = await api.rotateLinks(link.room, token.value);
    } catch (failure) {
      // Refused: the old token still works. (Had the server rotated after all, the resumed page hears TOKEN_REVOKED.)
      conn.resume();
      throw failure;
    }
    link.token = links.tokens.editor;
    link.known = { viewer: links.tokens.viewer, overlay: links.tokens.overlay };
    rememberTokens(link.room, links.tokens);
    // replaceState: no hashchange (main.ts reloads on one), and no history entry keeps the old token.
    history.replaceState(history.state, '', editorLink(location.origin, link.room, link.token, link.known));
    conn.resume(link.token);
    token.set(link.token);
    return links;
  }

  async function deleteRoom(): Promise<void> {
    await api.deleteRoom(link.room, token.value);
    forgetTokens(link.room);
    // The server closes our connections too (4404 ROOM_DELETED); whichever comes first ends the page.
    conn.close();
    fail('ROOM_DELETED', '');
  }

  /** The one way this page ends or breaks: the first fatal error wins (an end of the room over any other). */
  function fail(code: string, message: string): void {
    if (fatalError && (ROOM_ENDED.has(fatalError.code) || !ROOM_ENDED.has(code))) return;
    fatalError = { code, message };
    editable.set(false);
    fatal.hidden = false;
    fatal.textContent = describeError(code, message);
    setText(status, 'connectionEnded');
    if (ROOM_ENDED.has(code)) {
      // The room is over for this page: none of it stays on screen (replacing a link is meant to end access).
      const title = `ended.${code}`;
      const heading = h('h1', { id: uid('ended'), t: isKey(title) ? title : 'errorTitle' });
      toolbar.replaceChildren();
      app.replaceChildren(
        h('section', { class: 'panel room-ended', attrs: { 'aria-labelledby': heading.id } }, heading, fatal, h('a', { class: 'button', t: 'backToStart', attrs: { href: '/' } })),
      );
      document.title = 'scenecast';
    } else {
      // The scene stays readable (to copy from); a reload starts over where a retry can help.
      reload.hidden = code.startsWith('TOKEN_');
    }
  }
}
