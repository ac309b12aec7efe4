/**
 * The livestream overlay at /overlay/:room?token=… (an OBS browser source, 1920x1080, transparent):
 * the live preview of the shot being worked on (the one whose frames arrived last), the latest
 * finished clip (muted, looping) with its captions, a progress strip while a render runs, and the
 * newest suggestions editors accepted. It only reads: the document with the overlay token, events
 * over Socket.IO.
 *
 * Captions come from the clip's WebVTT as a <track> (hidden mode: its cues load and change with the
 * video) and are drawn by the overlay itself, not by the browser: native cues scale with the video
 * box, so in a 480 px tile they are ~14 px, too small once OBS scales the scene for the stream, and
 * ::cue can barely be styled. Drawn here they get the overlay's type, a size relative to the tile
 * with a floor, and a dark box that reads over any picture. When the clip already has its captions
 * burned into the picture (the scene's `captions` is burn or both), they are not drawn twice.
 *
 * Query options: pos=br|bl|tr|tl (corner, default br), size=480|480px|25% (player width, default
 * 480px), suggestions=0|1 (default 1), lang=en|zh (labels, default from the browser), audience=1
 * (for the audience's own browsers, not OBS: a form to suggest a prompt and vote on the pending
 * suggestions, the top-voted of which goes on air when the live stream takes suggestions).
 */
import { ROOM_ID_PATTERN } from '../../../shared/protocol.js';
import { suggestionStatusOf, suggestionsOf } from '../../../shared/doc-layout.js';
import { api, describeError, videoUrl } from '../lib/api.js';
import { connect, ROOM_ENDED } from '../lib/connection.js';
import { byId, h } from '../lib/dom.js';
import { initLang, setLang } from '../lib/i18n.js';
import { LivePlayer } from '../lib/live-player.js';
import { createAudienceForm } from './audience-form.js';
import { PreviewHub, playPreview } from '../lib/previews.js';
import { RenderTracker } from '../lib/render-tracker.js';

export interface OverlayOptions {
  pos: 'br' | 'bl' | 'tr' | 'tl';
  /** A CSS width. */
  size: string;
  suggestions: boolean;
  /** Accepted suggestions shown at once. */
  maxSuggestions: number;
  /** The audience's form: suggest, and vote on pending suggestions. */
  audience: boolean;
}

export function parseOptions(query: URLSearchParams): OverlayOptions {
  const pos = query.get('pos');
  const size = (query.get('size') ?? '').trim();
  const match = /^(\d{1,4}(?:\.\d+)?)(px|%)?$/.exec(size);
  let width = '480px';
  if (match) {
    const value = Number(match[1]);
    if (match[2] === '%') width = `${Math.min(Math.max(value, 5), 100)}%`;
    else width = `${Math.min(Math.max(value, 120), 1920)}px`;
  }
  return {
    pos: pos === 'bl' || pos === 'tr' || pos === 'tl' ? pos : 'br',
    size: width,
    suggestions: query.get('suggestions') !== '0',
    maxSuggestions: 3,
    audience: query.get('audience') === '1',
  };
}

function start(): void {
  const root = byId('overlay');
  const query = new URLSearchParams(location.search);
  const langParam = query.get('lang');
  if (langParam === 'en' || langParam === 'zh') setLang(langParam);
  else initLang();
  const options = parseOptions(query);
  root.classList.add(`pos-${options.pos}`);
  root.style.setProperty('--player-width', options.size);

  const room = /^\/overlay\/([^/]+)\/?$/.exec(location.pathname)?.[1] ?? '';
  const token = query.get('token');
  const error = h('p', { class: 'overlay-error', attrs: { role: 'alert' } });
  error.hidden = true;
  // On stream, a room that ended (links replaced or expired, room deleted) shows nothing that
  // alarms (`quiet`): the tiles go, a small muted line stays for whoever looks at the OBS preview.
  // Set-up mistakes (no token, a mistyped one or path) keep the plain red error.
  const notice = h('p', { class: 'overlay-notice', attrs: { role: 'status' } });
  notice.hidden = true;
  let stack: HTMLElement | null = null;
  let failed = false;
  const fail = (code: string, message?: string, quiet = false) => {
    if (failed) return;
    failed = true;
    if (stack) stack.hidden = true;
    const shown = quiet ? notice : error;
    shown.hidden = false;
    shown.textContent = describeError(code, message);
  };
  root.append(error, notice);
  if (!ROOM_ID_PATTERN.test(room)) return fail('ROOM_NOT_FOUND');
  if (!token) return fail('TOKEN_MISSING');

  const conn = connect({ room, token, silent: true, onFatal: (code, message) => fail(code, message, ROOM_ENDED.has(code)) });
  window.addEventListener('pagehide', () => conn.close());

  // Live preview: whichever shot streamed a frame last.
  const previews = new PreviewHub();
  conn.socket.on('preview:frame', (frame) => void previews.frame(frame));
  conn.socket.on('preview:state', (state) => previews.state(state));
  const canvas = h('canvas', { class: 'live', aria: 'overlayLive', attrs: { width: 64, height: 36, role: 'img' } });
  const liveTile = h('figure', { class: 'tile live-tile' }, canvas, h('figcaption', { t: 'overlayLive' }));
  liveTile.hidden = true;
  previews.onChange(() => {
    if (!previews.latestShot || !streamTile.hidden) return;
    liveTile.hidden = false;
    liveTile.dataset.shot = previews.latestShot.shot;
  });
  playPreview(canvas, () => previews.latestShot);

  // The room's live stream (live mode), with the prompt on air and who suggested it.
  const streamCanvas = h('canvas', { class: 'stream', aria: 'overlayStream', attrs: { width: 128, height: 72, role: 'img' } });
  const onAir = h('p', { class: 'on-air' });
  const onAirPrompt = h('span', { class: 'prompt' });
  const onAirAuthor = h('span', { class: 'author' });
  onAir.append(onAirPrompt, onAirAuthor);
  const streamTile = h('figure', { class: 'tile stream-tile' }, streamCanvas, onAir, h('figcaption', { t: 'overlayStream' }));
  streamTile.hidden = true;
  const player = new LivePlayer(streamCanvas);
  conn.socket.on('live:frame', (frame) => {
    streamTile.hidden = false;
    liveTile.hidden = true; // one live picture: the stream, not the edited shot's preview
    void player.push(frame);
  });
  conn.socket.on('live:state', (state) => {
    if (state.status === 'stopped') {
      streamTile.hidden = true;
      player.stop();
      return;
    }
    streamTile.dataset.status = state.status;
    if (state.prompt !== undefined && state.status !== 'refused') {
      onAirPrompt.textContent = state.prompt;
      onAirAuthor.textContent = state.author ? `— ${state.author}` : '';
    }
  });

  // The latest finished clip, and a strip while a render runs.
  const video = h('video', { class: 'clip', attrs: { muted: true, loop: true, autoplay: true, playsinline: true, preload: 'auto' } });
  video.muted = true;
  const cue = h('p', { class: 'clip-caption' });
  cue.hidden = true;
  const clipTile = h('figure', { class: 'tile clip-tile' }, video, cue, h('figcaption', { t: 'overlayClip' }));
  let track: HTMLTrackElement | null = null;
  let drawCues = false;
  /** Shows the clip's captions: a track for `url` (null: none), its cues drawn unless the picture has them burned in. */
  const showCaptions = (url: string | null, draw: boolean) => {
    drawCues = draw;
    const src = url ? videoUrl(url, token) : null;
    if ((track?.getAttribute('src') ?? null) === src) return;
    track?.remove();
    track = null;
    cue.hidden = true;
    cue.textContent = '';
    if (!src) return;
    const el = h('track', { attrs: { kind: 'captions', src, default: true } });
    track = el;
    video.append(el);
    el.track.mode = 'hidden';
    // In case the browser's own choice of default tracks turned it on meanwhile.
    el.addEventListener('load', () => {
      el.track.mode = 'hidden';
    });
    el.track.addEventListener('cuechange', () => {
      if (track !== el) return;
      // As text: cue markup (<b>, <v Name>) is not drawn.
      const text = drawCues ? [...(el.track.activeCues ?? [])].map((c) => (c as VTTCue).getCueAsHTML().textContent ?? '').join('\n').trim() : '';
      cue.textContent = text;
      cue.hidden = !text;
    });
  };
  clipTile.hidden = true;
  const fill = h('div', { class: 'fill' });
  const strip = h('div', { class: 'strip', aria: 'overlayRendering', attrs: { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 } }, fill);
  strip.hidden = true;
  const tracker = new RenderTracker(conn.socket, () => token);
  // Reloaded in OBS after a render finished: show that clip at once (once the token is accepted).
  conn.socket.once('room:joined', () => {
    api.latestRender(room, token, 'done').then(
      ({ render }) => {
        if (render && !tracker.current) tracker.adopt(render);
      },
      () => {},
    );
  });
  tracker.onChange((view) => {
    const running = !!view && (view.status === 'queued' || view.status === 'running');
    strip.hidden = !running;
    if (view) {
      fill.style.width = `${Math.round(view.fraction * 100)}%`;
      strip.setAttribute('aria-valuenow', String(Math.round(view.fraction * 100)));
    }
    if (view?.status === 'done' && view.url) {
      const src = videoUrl(view.url, token);
      if (video.getAttribute('src') !== src) {
        showCaptions(null, false);
        video.src = src;
        clipTile.hidden = false;
        // Muted autoplay is allowed; if a browser still says no, the next frame of user action will.
        video.play().catch(() => {});
      }
      showCaptions(view.captionsUrl, view.captionMode === 'soft' || view.captionMode === null);
    }
  });

  // Accepted suggestions, newest first.
  const chat = h('ul', { class: 'chat', aria: 'overlaySuggestions' });
  if (options.suggestions) {
    const list = suggestionsOf(conn.doc);
    const statuses = suggestionStatusOf(conn.doc);
    const render = () => {
      const accepted = list
        .toArray()
        .filter((s) => statuses.get(s.id) === 'accepted')
        .sort((a, b) => b.at - a.at)
        .slice(0, options.maxSuggestions);
      chat.replaceChildren(
        ...accepted.map((s) => h('li', { class: 'chat-item', attrs: { 'data-suggestion': s.id } }, h('span', { class: 'author', text: s.author }), h('span', { class: 'text', text: s.text }))),
      );
      chat.hidden = accepted.length === 0;
    };
    list.observe(render);
    statuses.observe(render);
    render();
  } else {
    chat.hidden = true;
  }

  const audience = options.audience ? createAudienceForm(conn) : null;
  stack = h('div', { class: 'stack' }, streamTile, clipTile, liveTile, strip, chat, audience);
  // Ended before the page was built (connect() reports asynchronously, but be sure).
  stack.hidden = failed;
  root.append(stack);
}

start();
