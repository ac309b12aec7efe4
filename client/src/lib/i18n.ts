/**
 * English and Chinese labels. Elements carry the key of their text in data attributes
 * (`data-t` for the text, `data-t-aria`, `data-t-title`, `data-t-placeholder`, with `data-t-vars`
 * for {placeholders}), so switching the language re-labels the page without rebuilding it.
 */
export type Lang = 'en' | 'zh';

const en = {
  appName: 'scenecast',
  language: 'Language',
  startTitle: 'Make a video together',
  startIntro: 'Write a scene script with others, watch previews stream while you type, then render a 720p video.',
  createRoom: 'Create a room',
  sceneTitle: 'Title',
  template: 'Template',
  create: 'Create',
  creating: 'Creating…',
  openLink: 'Open a share link',
  shareLinkInput: 'Share link',
  open: 'Open',
  badLink: 'That is not a scenecast share link.',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Offline — reconnecting…',
  synced: 'All changes synced',
  roleEditor: 'Editor',
  roleViewer: 'Viewer',
  roleOverlay: 'Overlay',
  readOnlyBanner: 'Read-only view: you can watch, but not edit.',
  yourName: 'Your name',
  yourColor: 'Your colour',
  people: 'People here',
  peopleCount: 'Connected — editors: {editor} · viewers: {viewer} · overlays: {overlay}',
  you: 'you',
  inShot: 'in {shot}',
  noShot: 'looking around',
  fps: 'Frames per second',
  shots: 'Shots',
  shotN: 'Shot {n}',
  addShot: 'Add a shot',
  removeShot: 'Remove shot {n}',
  moveUp: 'Move shot {n} up',
  moveDown: 'Move shot {n} down',
  prompt: 'Prompt',
  promptOf: 'Prompt of shot {n}',
  promptPlaceholder: 'Describe the shot, e.g. “a red ball bounces on the grass” or “一个红色的球在草地上弹跳”',
  duration: 'Duration (s)',
  camera: 'Camera',
  negative: 'Negative prompt',
  negativeOf: 'Negative prompt of shot {n}',
  addNegative: 'Add a negative prompt',
  removeNegative: 'Remove the negative prompt',
  negativePlaceholder: 'What the shot should not show',
  previewOf: 'Preview of shot {n}',
  noShots: 'No shots yet.',
  // post-production of a shot
  caption: 'Caption',
  captionOf: 'Caption of shot {n}',
  captionPlaceholder: 'On-screen text during the shot (one line)',
  narration: 'Narration',
  narrationOf: 'Narration of shot {n}',
  narrationPlaceholder: 'What a voice says over the shot',
  narrationTooLong: 'This narration takes about {spoken} s to say (an estimate), longer than the shot ({seconds} s). The render reports the exact length.',
  transition: 'Transition into the next shot',
  transitionSeconds: 'Transition length (s)',
  'transition.cut': 'Cut',
  'transition.crossfade': 'Crossfade',
  'transition.fade-black': 'Fade to black',
  'transition.slide-left': 'Slide left',
  'transition.slide-right': 'Slide right',
  continuePrevious: 'Continues the previous shot',
  // sound and captions of the scene
  audioPanel: 'Sound and captions',
  music: 'Music',
  musicNone: 'No music',
  musicBeds: 'Bundled music',
  musicUploads: 'Uploaded to this room',
  assetOption: '{name} ({seconds} s)',
  listen: 'Listen',
  listenTo: 'Listen to {name}',
  stopListening: 'Stop',
  stopListeningTo: 'Stop playing {name}',
  uploadMusic: 'Upload an audio file…',
  uploading: 'Uploading {name}…',
  uploaded: 'Uploaded {name}: it is now the music of the scene.',
  musicVolume: 'Music volume',
  duck: 'Lower the music under narration',
  captionsMode: 'Captions',
  'captions.burn': 'Burned into the picture',
  'captions.soft': 'Soft track (viewers turn it on)',
  'captions.both': 'Burned in and as a soft track',
  'captions.off': 'Off',
  loudness: 'Loudness target',
  'loudness.-14': '−14 LUFS (streaming)',
  'loudness.-16': '−16 LUFS (podcasts, web video)',
  'loudness.-23': '−23 LUFS (broadcast, EBU R128)',
  voiceEn: 'Voice for English narration',
  voiceZh: 'Voice for Chinese narration',
  loading: 'Loading the scene…',
  // camera moves
  'camera.static': 'Static',
  'camera.pan-left': 'Pan left',
  'camera.pan-right': 'Pan right',
  'camera.pan-up': 'Pan up',
  'camera.pan-down': 'Pan down',
  'camera.zoom-in': 'Zoom in',
  'camera.zoom-out': 'Zoom out',
  // preview states
  'state.none': 'No preview yet',
  'state.queued': 'Queued',
  'state.generating': 'Generating…',
  'state.done': 'Ready',
  'state.cancelled': 'Replaced by a newer edit',
  'state.refused': 'Not previewed',
  'state.failed': 'Failed',
  previewEmpty: 'type a prompt to see a preview',
  // scene player
  scenePreview: 'Whole scene',
  playScene: 'Play the whole scene',
  stopScene: 'Stop',
  scenePlayerLabel: 'Preview of the whole scene',
  playingShot: 'Shot {n} of {total}',
  // render
  render: 'Final video',
  renderButton: 'Render 720p video',
  cancelRender: 'Cancel render',
  'stage.queued': 'Waiting for the renderer…',
  'stage.generate': 'Rendering shots',
  'stage.join': 'Joining the shots',
  'stage.post': 'Adding transitions, captions and sound',
  'stage.done': 'Finished',
  cached: 'reused from cache',
  renderDone: 'Done: {seconds} s, {size}',
  renderCancelled: 'The render was cancelled.',
  download: 'Download MP4',
  renderVideo: 'Rendered video',
  renderWarnings: 'Notes from the render',
  captionsTrack: 'Captions',
  shotProgress: 'Shot {shot}: {done} of {total} frames',
  // suggestions
  suggestions: 'Audience suggestions',
  noSuggestions: 'No suggestions yet. The overlay’s audience can send some.',
  accept: 'Accept',
  dismiss: 'Dismiss',
  makeShot: 'Make a shot',
  acceptN: 'Accept suggestion “{text}”',
  dismissN: 'Dismiss suggestion “{text}”',
  makeShotN: 'Make a shot from suggestion “{text}”',
  'status.accepted': 'accepted',
  'status.dismissed': 'dismissed',
  byAuthor: 'by {author}',
  readAs: 'The model reads: {reading}',
  readIgnored: 'Not understood: {words}',
  readCamera: 'Camera from the words: {camera}',
  readCameraChosen: 'Camera: {camera}, as chosen (the words ask for {words})',
  // share
  share: 'Share',
  shareEditor: 'Editors (can change the scene)',
  shareViewer: 'Viewers (watch only)',
  shareOverlay: 'Overlay (OBS browser source, 1920×1080)',
  copy: 'Copy',
  copyN: 'Copy the {what} link',
  copied: 'Copied',
  copyFailed: 'Select the link and press Ctrl+C',
  linkUnknown: 'Only known to the person who created the room.',
  shareExpiry: 'Viewer and overlay links expire',
  'expiry.never': 'Never',
  'expiry.1': 'After 1 hour',
  'expiry.24': 'After 1 day',
  'expiry.168': 'After 7 days',
  expiresOn: 'These viewer and overlay links stop working on {when}.',
  manageLinks: 'Links and room',
  replaceLinks: 'Replace links',
  replaceLinksWarning: 'Replace every link of this room? Everyone using the old links (editors, viewers and overlays) is disconnected at once and needs the new links. This page switches to the new editor link by itself.',
  replaceLinksConfirm: 'Yes, replace the links',
  replacingLinks: 'Replacing the links…',
  linksReplaced: 'New links are ready; the old ones no longer work.',
  deleteRoom: 'Delete room',
  deleteRoomWarning: 'Delete this room for everyone? The scene, its previews and renders are removed and every link stops working. This cannot be undone.',
  deleteRoomConfirm: 'Delete the room for good',
  deletingRoom: 'Deleting the room…',
  cancel: 'Cancel',
  // a room that is over for this page (the fatal codes of lib/connection.ts ROOM_ENDED)
  'ended.TOKEN_REVOKED': 'Links replaced',
  'ended.TOKEN_EXPIRED': 'Link expired',
  'ended.ROOM_DELETED': 'Room deleted',
  'ended.ROOM_NOT_FOUND': 'Room not found',
  backToStart: 'Go to the start page',
  reload: 'Reload',
  connectionEnded: 'Disconnected',
  // errors
  errorTitle: 'Something went wrong',
  connectionClosed: 'The server closed the connection: {reason}',
  networkError: 'The server could not be reached. Check your connection and try again.',
  // overlay
  overlayLive: 'Live preview',
  overlayStream: 'Live',
  audienceSuggestion: 'Suggest what the stream shows',
  audienceName: 'Your name',
  audienceSend: 'Suggest',
  audienceSent: 'Thanks! Your suggestion is in the queue.',
  audienceVote: 'Vote',
  livePanel: 'Live stream',
  liveOn: 'Live stream on',
  livePrompt: 'Live prompt',
  livePromptPlaceholder: 'What the live stream shows, e.g. a red ball moves right',
  liveSource: 'Prompt from',
  liveFromEditors: 'the editors',
  liveFromSuggestions: 'the audience’s suggestions',
  liveEvery: 'Next suggestion every (s)',
  liveOnAir: 'On air:',
  livePin: 'Pin',
  liveSkip: 'Skip',
  liveWatching: 'Watching:',
  liveReplay: 'Save the last 30 s',
  overlayClip: 'Latest clip',
  overlayRendering: 'Rendering…',
  overlaySuggestions: 'From the chat',
} as const;

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  appName: 'scenecast',
  language: '语言',
  startTitle: '一起做视频',
  startIntro: '和别人一起写分镜脚本，边打字边看预览，然后渲染 720p 视频。',
  createRoom: '创建房间',
  sceneTitle: '标题',
  template: '模板',
  create: '创建',
  creating: '正在创建…',
  openLink: '打开分享链接',
  shareLinkInput: '分享链接',
  open: '打开',
  badLink: '这不是 scenecast 的分享链接。',
  connecting: '正在连接…',
  connected: '已连接',
  disconnected: '已离线——正在重新连接…',
  synced: '所有修改已同步',
  roleEditor: '编辑者',
  roleViewer: '观看者',
  roleOverlay: '直播叠加层',
  readOnlyBanner: '只读视图：可以观看，但不能编辑。',
  yourName: '你的名字',
  yourColor: '你的颜色',
  people: '在线的人',
  peopleCount: '在线——编辑者：{editor} · 观看者：{viewer} · 叠加层：{overlay}',
  you: '你',
  inShot: '在{shot}',
  noShot: '在浏览',
  fps: '每秒帧数',
  shots: '镜头',
  shotN: '镜头 {n}',
  addShot: '添加镜头',
  removeShot: '删除镜头 {n}',
  moveUp: '将镜头 {n} 上移',
  moveDown: '将镜头 {n} 下移',
  prompt: '提示词',
  promptOf: '镜头 {n} 的提示词',
  promptPlaceholder: '描述这个镜头，例如“一个红色的球在草地上弹跳”或 “a red ball bounces on the grass”',
  duration: '时长（秒）',
  camera: '镜头运动',
  negative: '反向提示词',
  negativeOf: '镜头 {n} 的反向提示词',
  addNegative: '添加反向提示词',
  removeNegative: '删除反向提示词',
  negativePlaceholder: '这个镜头不应出现的内容',
  previewOf: '镜头 {n} 的预览',
  noShots: '还没有镜头。',
  caption: '字幕',
  captionOf: '镜头 {n} 的字幕',
  captionPlaceholder: '镜头播放时显示的文字（一行）',
  narration: '旁白',
  narrationOf: '镜头 {n} 的旁白',
  narrationPlaceholder: '配音在这个镜头里说的话',
  narrationTooLong: '这段旁白大约需要 {spoken} 秒读完（估计值），比镜头（{seconds} 秒）长。渲染时会给出准确时长。',
  transition: '到下一个镜头的转场',
  transitionSeconds: '转场时长（秒）',
  'transition.cut': '硬切',
  'transition.crossfade': '交叉淡化',
  'transition.fade-black': '淡入淡出（黑场）',
  'transition.slide-left': '向左滑动',
  'transition.slide-right': '向右滑动',
  continuePrevious: '接续上一个镜头',
  audioPanel: '声音与字幕',
  music: '音乐',
  musicNone: '不要音乐',
  musicBeds: '内置配乐',
  musicUploads: '上传到这个房间的',
  assetOption: '{name}（{seconds} 秒）',
  listen: '试听',
  listenTo: '试听{name}',
  stopListening: '停止',
  stopListeningTo: '停止播放{name}',
  uploadMusic: '上传音频文件…',
  uploading: '正在上传 {name}…',
  uploaded: '已上传 {name}，现在是这个场景的音乐。',
  musicVolume: '音乐音量',
  duck: '旁白时降低音乐音量',
  captionsMode: '字幕方式',
  'captions.burn': '烧录到画面中',
  'captions.soft': '软字幕轨（观众自行开启）',
  'captions.both': '烧录并附带软字幕轨',
  'captions.off': '关闭',
  loudness: '响度目标',
  'loudness.-14': '−14 LUFS（流媒体）',
  'loudness.-16': '−16 LUFS（播客、网络视频）',
  'loudness.-23': '−23 LUFS（广播，EBU R128）',
  voiceEn: '英文旁白的声音',
  voiceZh: '中文旁白的声音',
  loading: '正在加载场景…',
  'camera.static': '固定',
  'camera.pan-left': '向左平移',
  'camera.pan-right': '向右平移',
  'camera.pan-up': '向上平移',
  'camera.pan-down': '向下平移',
  'camera.zoom-in': '推近',
  'camera.zoom-out': '拉远',
  'state.none': '还没有预览',
  'state.queued': '排队中',
  'state.generating': '生成中…',
  'state.done': '完成',
  'state.cancelled': '已被更新的修改取代',
  'state.refused': '未生成预览',
  'state.failed': '失败',
  previewEmpty: '输入提示词即可看到预览',
  scenePreview: '整个场景',
  playScene: '播放整个场景',
  stopScene: '停止',
  scenePlayerLabel: '整个场景的预览',
  playingShot: '镜头 {n} / {total}',
  render: '成片',
  renderButton: '渲染 720p 视频',
  cancelRender: '取消渲染',
  'stage.queued': '等待渲染…',
  'stage.generate': '正在渲染镜头',
  'stage.join': '正在拼接镜头',
  'stage.post': '正在添加转场、字幕和声音',
  'stage.done': '已完成',
  cached: '使用了缓存',
  renderDone: '完成：{seconds} 秒，{size}',
  renderCancelled: '渲染已取消。',
  download: '下载 MP4',
  renderVideo: '渲染好的视频',
  renderWarnings: '渲染提示',
  captionsTrack: '字幕',
  shotProgress: '镜头 {shot}：{done} / {total} 帧',
  suggestions: '观众建议',
  noSuggestions: '还没有建议。直播观众可以通过叠加层发送建议。',
  accept: '采纳',
  dismiss: '忽略',
  makeShot: '生成镜头',
  acceptN: '采纳建议“{text}”',
  dismissN: '忽略建议“{text}”',
  makeShotN: '用建议“{text}”生成镜头',
  'status.accepted': '已采纳',
  'status.dismissed': '已忽略',
  byAuthor: '来自 {author}',
  readAs: '模型读到：{reading}',
  readIgnored: '无法理解：{words}',
  readCamera: '由文字设定的镜头：{camera}',
  readCameraChosen: '镜头：{camera}（已选定；文字要求的是{words}）',
  share: '分享',
  shareEditor: '编辑者（可以修改场景）',
  shareViewer: '观看者（只能观看）',
  shareOverlay: '直播叠加层（OBS 浏览器源，1920×1080）',
  copy: '复制',
  copyN: '复制{what}链接',
  copied: '已复制',
  copyFailed: '请选中链接后按 Ctrl+C',
  linkUnknown: '只有创建房间的人知道这个链接。',
  shareExpiry: '观看者和叠加层链接的有效期',
  'expiry.never': '永不过期',
  'expiry.1': '1 小时',
  'expiry.24': '1 天',
  'expiry.168': '7 天',
  expiresOn: '这些观看者和叠加层链接将于 {when} 失效。',
  manageLinks: '链接与房间',
  replaceLinks: '更换链接',
  replaceLinksWarning: '要更换这个房间的所有链接吗？使用旧链接的所有人（编辑者、观看者和叠加层）会立即断开连接，需要使用新链接。本页面会自动切换到新的编辑者链接。',
  replaceLinksConfirm: '确认更换链接',
  replacingLinks: '正在更换链接…',
  linksReplaced: '新链接已生成，旧链接已失效。',
  deleteRoom: '删除房间',
  deleteRoomWarning: '要为所有人删除这个房间吗？场景、预览和渲染都会被删除，所有链接都会失效。此操作无法撤销。',
  deleteRoomConfirm: '永久删除房间',
  deletingRoom: '正在删除房间…',
  cancel: '取消',
  'ended.TOKEN_REVOKED': '链接已更换',
  'ended.TOKEN_EXPIRED': '链接已过期',
  'ended.ROOM_DELETED': '房间已删除',
  'ended.ROOM_NOT_FOUND': '找不到房间',
  backToStart: '返回首页',
  reload: '重新加载',
  connectionEnded: '已断开',
  errorTitle: '出错了',
  connectionClosed: '服务器关闭了连接：{reason}',
  networkError: '无法连接服务器。请检查网络后重试。',
  overlayLive: '实时预览',
  overlayStream: '直播',
  audienceSuggestion: '建议直播画面的内容',
  audienceName: '你的名字',
  audienceSend: '提交建议',
  audienceSent: '谢谢！你的建议已加入队列。',
  audienceVote: '投票',
  livePanel: '直播',
  liveOn: '开启直播',
  livePrompt: '直播提示词',
  livePromptPlaceholder: '直播画面的内容，例如：一个红色的球向右移动',
  liveSource: '提示词来自',
  liveFromEditors: '编辑者',
  liveFromSuggestions: '观众的建议',
  liveEvery: '每隔多少秒换下一条建议',
  liveOnAir: '正在播出：',
  livePin: '置顶',
  liveSkip: '跳过',
  liveWatching: '观看人数：',
  liveReplay: '保存最近 30 秒',
  overlayClip: '最新片段',
  overlayRendering: '渲染中…',
  overlaySuggestions: '来自弹幕',
};

const STRINGS: Record<Lang, Record<Key, string>> = { en, zh };

export type Vars = Record<string, string | number>;

const STORAGE_KEY = 'scenecast:lang';

function initialLang(): Lang {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'zh') return stored;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

let current: Lang = initialLang();
const listeners = new Set<(lang: Lang) => void>();

export const lang = (): Lang => current;

export function t(key: Key, vars?: Vars): string {
  const template = STRINGS[current][key];
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export function isKey(value: string): value is Key {
  return Object.hasOwn(en, value);
}

const ATTRS = [
  ['tAria', 'aria-label'],
  ['tTitle', 'title'],
  ['tPlaceholder', 'placeholder'],
] as const;

function varsOf(el: HTMLElement): Vars | undefined {
  const raw = el.dataset.tVars;
  return raw ? (JSON.parse(raw) as Vars) : undefined;
}

/** Sets the texts of `el` and everything under it from their data-t* keys. */
export function translate(root: ParentNode = document): void {
  const all = [...root.querySelectorAll<HTMLElement>('[data-t],[data-t-aria],[data-t-title],[data-t-placeholder]')];
  if (root instanceof HTMLElement && (root.dataset.t || root.dataset.tAria || root.dataset.tTitle || root.dataset.tPlaceholder)) all.push(root);
  for (const el of all) {
    const vars = varsOf(el);
    const key = el.dataset.t;
    if (key && isKey(key)) el.textContent = t(key, vars);
    for (const [data, attr] of ATTRS) {
      const k = el.dataset[data];
      if (k && isKey(k)) el.setAttribute(attr, t(k, vars));
    }
  }
}

/** Gives `el` a translated text (and remembers the key for language switches). */
export function setText(el: HTMLElement, key: Key, vars?: Vars): void {
  el.dataset.t = key;
  if (vars) el.dataset.tVars = JSON.stringify(vars);
  else delete el.dataset.tVars;
  el.textContent = t(key, vars);
}

/** Gives `el` a translated attribute. Vars are shared with the text of the same element. */
export function setAttr(el: HTMLElement, attr: 'aria-label' | 'title' | 'placeholder', key: Key, vars?: Vars): void {
  const data = ATTRS.find(([, a]) => a === attr)![0];
  el.dataset[data] = key;
  if (vars) el.dataset.tVars = JSON.stringify(vars);
  el.setAttribute(attr, t(key, vars));
}

export function setLang(next: Lang): void {
  current = next;
  safeStorage()?.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  translate(document);
  for (const listener of listeners) listener(next);
}

export function onLangChange(listener: (lang: Lang) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Applies the initial language to the static page. */
export function initLang(): void {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  translate(document);
}
