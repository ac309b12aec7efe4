/**
 * The final render: start (editors), progress by stage and by shot (cache hits marked), cancel,
 * then the video with a download link. The last render id of a room is remembered locally so a
 * reload shows its result again.
 */
import { api, ApiError, describeError, videoUrl } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { onLangChange, setText, t, type Key } from '../lib/i18n.js';
import type { RenderTracker, RenderView } from '../lib/render-tracker.js';
import type { Signal } from '../lib/signal.js';


export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `token`: the page's token, which changes when the room's links are replaced (the video's URL carries it). */
export function createRenderPanel(room: string, token: Signal<string>, tracker: RenderTracker, editable: Signal<boolean>): HTMLElement {
  const start = h('button', { class: 'primary edit-only', t: 'renderButton', attrs: { type: 'button' } });
  const cancel = h('button', { class: 'edit-only', t: 'cancelRender', attrs: { type: 'button' } });
  cancel.hidden = true;
  const stage = h('p', { class: 'render-stage', attrs: { 'aria-live': 'polite' } });
  const bar = h('progress', { class: 'render-bar', aria: 'render', attrs: { max: 1, value: 0 } });
  bar.hidden = true;
  const shots = h('ul', { class: 'render-shots' });
  const error = h('p', { class: 'error', attrs: { role: 'alert' } });
  error.hidden = true;
  const notes = h('ul', { class: 'render-warnings' });
  const notesBox = h('div', { class: 'render-notes' }, h('h3', { t: 'renderWarnings' }), notes);
  notesBox.hidden = true;
  const result = h('div', { class: 'render-result' });
  let shownVideo: string | null = null;
  let video: HTMLVideoElement | null = null;
  let shownTrack: string | null = null;

  const showError = (text: string | null) => {
    error.hidden = !text;
    error.textContent = text ?? '';
  };

  start.addEventListener('click', async () => {
    showError(null);
    start.disabled = true;
    try {
      const { render } = await api.startRender(room, token.value);
      tracker.adopt(render);
    } catch (failure) {
      showError(failure instanceof ApiError ? failure.describe() : String(failure));
      start.disabled = !editable.value;
    }
  });

  cancel.addEventListener('click', async () => {
    const id = tracker.current?.id;
    if (!id) return;
    cancel.disabled = true;
    try {
      // A render cancelled while still queued gets no render:error event: its record says so.
      tracker.adopt(await api.cancelRender(id, token.value));
    } catch (failure) {
      showError(failure instanceof ApiError ? failure.describe() : String(failure));
    } finally {
      cancel.disabled = false;
    }
  });

  const render = (view: RenderView | null) => {
    const running = !!view && (view.status === 'queued' || view.status === 'running');
    start.disabled = running || !editable.value;
    cancel.hidden = !running;
    bar.hidden = !view || view.status === 'cancelled' || view.status === 'failed';
    if (!view) {
      stage.textContent = '';
      return;
    }
    bar.value = view.fraction;
    bar.setAttribute('aria-valuetext', `${Math.round(view.fraction * 100)}%`);
    if (view.status === 'done') {
      setText(stage, 'renderDone', { seconds: (view.seconds ?? 0).toFixed(1), size: formatBytes(view.bytes ?? 0) });
    } else if (view.status === 'cancelled') {
      setText(stage, 'renderCancelled');
    } else if (view.status === 'failed') {
      stage.textContent = '';
    } else {
      setText(stage, (['queued', 'generate', 'join', 'post', 'done'].includes(view.stage) ? `stage.${view.stage}` : 'stage.generate') as Key);
    }
    // The server's own words (they name shots by id and give exact lengths).
    notesBox.hidden = view.warnings.length === 0;
    notes.replaceChildren(...view.warnings.map((text) => h('li', { text })));
    showError(view.status === 'failed' && view.error ? describeError(view.error.code, view.error.message) : null);
    shots.replaceChildren(
      ...view.shots.map((shot) => {
        const label = h('span', { t: 'shotProgress', vars: { shot: shot.id, done: Math.min(shot.done, shot.total), total: shot.total } });
        const bar = h('progress', { attrs: { max: shot.total, value: Math.min(shot.done, shot.total), 'aria-hidden': 'true' } });
        return h(
          'li',
          { class: shot.cached ? 'cached' : '', attrs: { 'data-shot': shot.id } },
          label,
          shot.cached ? h('span', { class: 'tag', t: 'cached' }) : null,
          bar,
        );
      }),
    );
    if (view.status === 'done' && view.url) {
      const src = videoUrl(view.url, token.value);
      if (shownVideo !== src) {
        shownVideo = src;
        shownTrack = null;
        video = h('video', { class: 'render-video', aria: 'renderVideo', attrs: { controls: true, preload: 'auto', playsinline: true, src } });
        const link = h('a', { class: 'button', t: 'download', attrs: { href: src, download: `scenecast-${view.id}.mp4` } });
        result.replaceChildren(video, link);
      }
      // Soft captions (they come with the finished record, a moment after the video): the player's
      // captions button shows them, on at once when they are not burned into the picture.
      const captions = view.captionsUrl ? videoUrl(view.captionsUrl, token.value) : null;
      if (video && captions && shownTrack !== captions) {
        shownTrack = captions;
        video.querySelector('track')?.remove();
        video.append(h('track', { attrs: { kind: 'captions', src: captions, label: t('captionsTrack'), default: view.captionMode === 'soft' } }));
      }
    }
    // While a new render runs, the previous video stays until the new one is done.
  };
  tracker.onChange(render);
  editable.watch((value) => {
    const running = tracker.current?.status === 'queued' || tracker.current?.status === 'running';
    start.disabled = !value || running;
  });
  onLangChange(() => render(tracker.current));
  token.watch(() => render(tracker.current));



  return h(
    'section',
    { class: 'panel render-panel', attrs: { 'aria-labelledby': 'render-heading' } },
    h('h2', { id: 'render-heading', t: 'render' }),
    h('div', { class: 'row' }, start, cancel),
    stage,
    bar,
    shots,
    error,
    notesBox,
    result,
  );
}
