/**
 * The scene's sound and captions (DESIGN.md, "Post-production"), co-edited in `meta`: the music
 * (none, a bundled bed, or an audio file uploaded to the room), its volume, ducking under the
 * narration, how captions are delivered, the loudness target and the narration voice per language.
 * Every write checks `editable`, like the rest of the page. The room's uploads are listed when
 * someone opens the music choice (or the scene names one not listed yet), not on page load.
 */
import type * as Y from 'yjs';
import { CAPTION_MODES, DEFAULT_VOICES, LOUDNESS_TARGETS, MUSIC_BEDS, POST_DEFAULTS, VOICES, type CaptionMode } from '../../../shared/post.js';
import { metaOf } from '../../../shared/scene-doc.js';
import { api, ApiError, bedUrl, type AudioAsset } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import { lang, onLangChange, setAttr, setText, t, type Key } from '../lib/i18n.js';
import { isBed, isMusic, voiceOf } from '../lib/post-doc.js';
import type { Signal } from '../lib/signal.js';
import { bindCheckbox, bindControl, bindPart, numberCodec } from './bind.js';

export interface AudioPanelOptions {
  doc: Y.Doc;
  room: string;
  /** The page's token (an editor's changes when the room's links are replaced). */
  token: Signal<string>;
  editable: Signal<boolean>;
}

const captionKey = (mode: CaptionMode): Key => `captions.${mode}`;

export function createAudioPanel(options: AudioPanelOptions): HTMLElement {
  const { room, token, editable } = options;
  const meta = metaOf(options.doc);
  const canEdit = () => editable.value;

  // Music: none, the beds, the room's uploads (and whatever the scene names that is not listed).
  const musicId = uid('music');
  const music = h('select', { id: musicId, class: 'edit-control' });
  let assets: AudioAsset[] = [];
  const renderMusic = () => {
    const current = typeof meta.get('music') === 'string' ? String(meta.get('music')) : POST_DEFAULTS.music;
    const listed = current === 'none' || isBed(current) || assets.some((a) => a.id === current);
    const beds = h('optgroup', { attrs: { label: t('musicBeds') } }, ...MUSIC_BEDS.map((bed) => h('option', { text: bed.name[lang()], attrs: { value: bed.id } })));
    const uploads = assets.length
      ? h('optgroup', { attrs: { label: t('musicUploads') } }, ...assets.map((a) => h('option', { text: t('assetOption', { name: a.name, seconds: a.seconds.toFixed(1) }), attrs: { value: a.id } })))
      : null;
    music.replaceChildren(
      h('option', { t: 'musicNone', attrs: { value: 'none' } }),
      beds,
      ...(uploads ? [uploads] : []),
      ...(listed ? [] : [h('option', { text: current, attrs: { value: current } })]),
    );
    if (document.activeElement !== music || music.value !== current) music.value = current;
  };

  let loading: Promise<void> | null = null;
  /** Lists the room's uploads (again only after a failure or when the scene names an unknown one). */
  const loadAssets = (force = false) => {
    if (loading && !force) return;
    loading = api.assets(room, token.value).then(
      (list) => {
        assets = list.assets;
        renderMusic();
      },
      () => {
        // Not there (yet): the bundled beds are still offered.
        loading = null;
      },
    );
  };
  music.addEventListener('pointerdown', () => loadAssets());
  music.addEventListener('focus', () => loadAssets());
  const showMusic = () => {
    const current = meta.get('music');
    if (typeof current === 'string' && current.startsWith('asset-') && !assets.some((a) => a.id === current)) loadAssets(true);
    renderMusic();
  };

  // Listening to a bed: one at a time, from the server's WAV.
  const player = new Audio();
  player.preload = 'none';
  let playing: string | null = null;
  const listenButtons = new Map<string, HTMLButtonElement>();
  const showListening = () => {
    for (const [id, button] of listenButtons) {
      const bed = MUSIC_BEDS.find((b) => b.id === id)!;
      setText(button, playing === id ? 'stopListening' : 'listen');
      setAttr(button, 'aria-label', playing === id ? 'stopListeningTo' : 'listenTo', { name: bed.name[lang()] });
      button.setAttribute('aria-pressed', String(playing === id));
    }
  };
  const stopListening = () => {
    player.pause();
    player.removeAttribute('src');
    playing = null;
    showListening();
  };
  player.addEventListener('ended', stopListening);
  player.addEventListener('error', () => {
    if (playing) stopListening();
  });
  const beds = h(
    'ul',
    { class: 'beds' },
    ...MUSIC_BEDS.map((bed) => {
      const button = h('button', { class: 'small listen', attrs: { type: 'button', 'data-bed': bed.id } });
      listenButtons.set(bed.id, button);
      button.addEventListener('click', () => {
        if (playing === bed.id) return stopListening();
        playing = bed.id;
        player.src = bedUrl(bed.id);
        showListening();
        player.play().catch(() => stopListening());
      });
      const name = h('span', { class: 'bed-name', text: bed.name[lang()] });
      return h('li', { attrs: { 'data-bed': bed.id } }, name, button);
    }),
  );
  const renameBeds = () => {
    for (const li of beds.querySelectorAll('li')) {
      const bed = MUSIC_BEDS.find((b) => b.id === li.dataset.bed);
      const name = li.querySelector('.bed-name');
      if (bed && name) name.textContent = bed.name[lang()];
    }
    showListening();
  };

  // Uploading a file of one's own: the body is the file, with its own Content-Type.
  const file = h('input', { class: 'visually-hidden', attrs: { type: 'file', accept: 'audio/*', tabindex: -1, 'aria-hidden': 'true' } });
  const upload = h('button', { class: 'edit-only upload', t: 'uploadMusic', attrs: { type: 'button' } });
  const uploadStatus = h('p', { class: 'muted upload-status', attrs: { role: 'status' } });
  const uploadError = h('p', { class: 'error upload-error', attrs: { role: 'alert' } });
  upload.addEventListener('click', () => {
    if (canEdit()) file.click();
  });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (!chosen || !canEdit()) return;
    upload.disabled = true;
    uploadError.textContent = '';
    setText(uploadStatus, 'uploading', { name: chosen.name });
    try {
      const { asset } = await api.uploadAsset(room, token.value, chosen);
      assets = [...assets.filter((a) => a.id !== asset.id), asset];
      setText(uploadStatus, 'uploaded', { name: asset.name });
      // The new file becomes the scene's music.
      if (canEdit()) meta.set('music', asset.id);
      renderMusic();
    } catch (failure) {
      uploadStatus.textContent = '';
      uploadError.textContent = failure instanceof ApiError ? failure.describe() : String(failure);
    } finally {
      upload.disabled = !editable.value;
    }
  });

  const volumeId = uid('music-volume');
  const volume = h('input', { id: volumeId, class: 'edit-control', attrs: { type: 'range', min: 0, max: 1, step: 0.05 } });
  const volumeShown = h('output', { class: 'volume-value', attrs: { for: volumeId } });
  const showVolume = () => {
    const value = meta.get('musicVolume');
    volumeShown.textContent = `${Math.round((typeof value === 'number' ? value : POST_DEFAULTS.musicVolume) * 100)} %`;
  };
  volume.addEventListener('input', () => (volumeShown.textContent = `${Math.round(Number(volume.value) * 100)} %`));

  const duckId = uid('duck');
  const duck = h('input', { id: duckId, class: 'edit-control', attrs: { type: 'checkbox' } });

  const captionsId = uid('captions-mode');
  const captions = h('select', { id: captionsId, class: 'edit-control' }, ...CAPTION_MODES.map((mode) => h('option', { t: captionKey(mode), attrs: { value: mode } })));

  const loudnessId = uid('loudness');
  const loudness = h('select', { id: loudnessId, class: 'edit-control' }, ...LOUDNESS_TARGETS.map((lufs) => h('option', { t: `loudness.${lufs}` as Key, attrs: { value: lufs } })));

  const voiceSelect = (which: 'en' | 'zh') => {
    const select = h('select', { id: uid(`voice-${which}`), class: 'edit-control' });
    const render = () => {
      const current = select.value;
      select.replaceChildren(...VOICES.filter((v) => v.lang === which).map((v) => h('option', { text: v.name[lang()], attrs: { value: v.id } })));
      if (current) select.value = current;
    };
    render();
    return { select, render };
  };
  const voiceEn = voiceSelect('en');
  const voiceZh = voiceSelect('zh');
  const voicePart = (which: 'en' | 'zh') => ({
    format: (stored: unknown) => voiceOf(which, (stored as Record<string, unknown> | undefined)?.[which]) ?? DEFAULT_VOICES[which],
    update: (text: string, stored: unknown) => {
      if (!voiceOf(which, text)) return null;
      const others = stored && typeof stored === 'object' ? { ...(stored as Record<string, unknown>) } : {};
      return { ...others, [which]: text };
    },
  });

  const bindings = [
    bindControl(meta, 'music', music, { parse: (text) => (isMusic(text) ? text : null), format: (value) => (typeof value === 'string' ? value : POST_DEFAULTS.music) }, canEdit),
    bindControl(meta, 'musicVolume', volume, numberCodec(0, 1, POST_DEFAULTS.musicVolume), canEdit),
    bindCheckbox(meta, 'duck', duck, POST_DEFAULTS.duck, canEdit),
    bindControl(meta, 'captions', captions, { parse: (text) => ((CAPTION_MODES as readonly string[]).includes(text) ? text : null), format: (value) => ((CAPTION_MODES as readonly unknown[]).includes(value) ? String(value) : POST_DEFAULTS.captions) }, canEdit),
    bindControl(
      meta,
      'loudness',
      loudness,
      {
        parse: (text) => ((LOUDNESS_TARGETS as readonly number[]).includes(Number(text)) ? Number(text) : null),
        format: (value) => String((LOUDNESS_TARGETS as readonly unknown[]).includes(value) ? value : POST_DEFAULTS.loudness),
      },
      canEdit,
    ),
    bindPart(meta, 'voice', voiceEn.select, voicePart('en'), canEdit),
    bindPart(meta, 'voice', voiceZh.select, voicePart('zh'), canEdit),
  ];
  const refreshAll = () => {
    for (const binding of bindings) binding.refresh(true);
  };
  meta.observe((event) => {
    if (event.keysChanged.has('music')) showMusic();
    if (event.keysChanged.has('musicVolume')) showVolume();
  });
  onLangChange(() => {
    renderMusic();
    renameBeds();
    voiceEn.render();
    voiceZh.render();
    refreshAll();
  });
  editable.watch((value) => {
    for (const control of [music, volume, duck, captions, loudness, voiceEn.select, voiceZh.select, upload]) control.disabled = !value;
  });
  showMusic();
  showVolume();
  renameBeds();
  refreshAll();

  const field = (id: string, key: Key, control: HTMLElement, ...rest: HTMLElement[]) =>
    h('div', { class: 'field' }, h('label', { attrs: { for: id }, t: key }), control, ...rest);
  return h(
    'section',
    { class: 'panel audio-panel', attrs: { 'aria-labelledby': 'audio-heading' } },
    h('h2', { id: 'audio-heading', t: 'audioPanel' }),
    field(musicId, 'music', music),
    beds,
    h('div', { class: 'row upload-row' }, upload, file),
    uploadStatus,
    uploadError,
    field(volumeId, 'musicVolume', h('div', { class: 'row' }, volume, volumeShown)),
    h('div', { class: 'check' }, duck, h('label', { attrs: { for: duckId }, t: 'duck' })),
    field(captionsId, 'captionsMode', captions),
    field(loudnessId, 'loudness', loudness),
    field(voiceEn.select.id, 'voiceEn', voiceEn.select),
    field(voiceZh.select.id, 'voiceZh', voiceZh.select),
  );
}
