/**
 * HTTP calls to the scenecast server and the words people see when one fails. Errors come as
 * `{error: {code, message}}` (shared/errors.ts); the codes people can meet get a sentence in
 * both languages, the server's own message is kept as the detail.
 */
import type { ErrorCode } from '../../../shared/errors.js';
import type { CreateRoomRequest, CreateRoomResponse, PromptReading, RenderInfo } from '../../../shared/protocol.js';
import type { Template } from '../../../shared/templates.js';
import type { Suggestion } from '../../../shared/scene-doc.js';
import { lang } from './i18n.js';

/** `plain`: the server's message adds nothing people need (or only bytes and ids), so it is not shown. */
type Words = { en: string; zh: string; plain?: true };

const WORDS: Partial<Record<ErrorCode, Words>> = {
  TOKEN_MISSING: { en: 'This link has no access token. Ask for the full share link.', zh: '这个链接缺少访问令牌，请索取完整的分享链接。' },
  TOKEN_INVALID: { en: 'This share link is not valid (maybe mistyped or from another server).', zh: '这个分享链接无效（可能抄错了，或来自其他服务器）。' },
  TOKEN_WRONG_ROOM: { en: 'This share link belongs to another room.', zh: '这个分享链接属于另一个房间。' },
  ROLE_FORBIDDEN: { en: 'Your link does not allow this. Ask an editor.', zh: '你的链接没有这个权限，请联系编辑者。' },
  TOKEN_REVOKED: { en: 'The links of this room were replaced. Ask an editor for the new link.', zh: '这个房间的链接已被更换。请向编辑者索取新链接。', plain: true },
  TOKEN_EXPIRED: { en: 'This link has expired. Ask an editor for a new link.', zh: '这个链接已过期。请向编辑者索取新链接。', plain: true },
  ROOM_NOT_FOUND: { en: 'This room does not exist (any more).', zh: '这个房间不存在（或已被删除）。' },
  ROOM_DELETED: { en: 'This room was deleted. Its scene and links are gone.', zh: '这个房间已被删除，场景和链接都已不存在。', plain: true },
  DOC_TOO_LARGE: { en: 'Your last edit was not saved: the scene is too large. Reload the page to continue.', zh: '你最后的修改没有保存：场景太大了。请重新加载页面后继续。', plain: true },
  TOO_MANY_CONNECTIONS: { en: 'Too many connections from your address. Close some tabs, then reload.', zh: '你的地址打开的连接太多。请关闭一些标签页，然后重新加载。', plain: true },
  ROOMS_AT_CAPACITY: { en: 'The server is full right now. Try again in a minute.', zh: '服务器现在已满，请稍后再试。' },
  ROOM_STORAGE_ERROR: { en: 'The room could not be loaded from storage. Try again later.', zh: '无法从存储中读取房间，请稍后再试。' },
  SCENE_EMPTY: { en: 'Add a shot with a prompt before rendering.', zh: '渲染前请先添加一个带提示词的镜头。' },
  SHOT_PROMPT_EMPTY: { en: 'A shot has no prompt yet. Type one, or remove the shot.', zh: '有镜头还没有提示词。请输入提示词，或删除该镜头。' },
  SHOT_PROMPT_TOO_LONG: { en: 'A prompt is longer than 500 characters.', zh: '有提示词超过了 500 个字符。' },
  SHOT_DURATION_OUT_OF_RANGE: { en: 'A shot must last from 0.5 to 10 seconds.', zh: '镜头时长必须在 0.5 到 10 秒之间。' },
  SHOT_ID_DUPLICATE: { en: 'Two shots have the same id; remove one of them.', zh: '有两个镜头的编号相同，请删除其中一个。' },
  CONTENT_BLOCKED: { en: 'The content policy does not allow this text.', zh: '内容政策不允许这段文字。' },
  PREVIEW_QUEUE_FULL: { en: 'Too many previews are waiting; yours runs after your next edit.', zh: '等待预览的任务太多，下次修改后会再生成。' },
  ENGINE_FAILED: { en: 'The video engine failed on this shot.', zh: '视频引擎处理这个镜头时出错。' },
  ENGINE_UNAVAILABLE: { en: 'The video engine is not running on this server.', zh: '这台服务器上的视频引擎没有运行。' },
  RENDER_NOT_FOUND: { en: 'That render no longer exists.', zh: '这个渲染已不存在。' },
  RENDER_NOT_READY: { en: 'The render has not finished yet.', zh: '渲染还没有完成。' },
  RENDER_CANCELLED: { en: 'The render was cancelled.', zh: '渲染已取消。' },
  RATE_LIMITED: { en: 'Too many requests. Wait a little and try again.', zh: '请求太频繁，请稍等再试。' },
  SUGGESTION_INVALID: { en: 'A suggestion is 1 to 200 characters of text.', zh: '建议必须是 1 到 200 个字符的文字。' },
  READ_ONLY: { en: 'This link is read-only; changes are not saved.', zh: '这是只读链接，修改不会被保存。' },
  CLIENT_TOO_SLOW: { en: 'The connection fell behind; reconnecting.', zh: '连接跟不上了，正在重新连接。' },
  SHUTTING_DOWN: { en: 'The server is restarting. Try again in a moment.', zh: '服务器正在重启，请稍后再试。' },
  INTERNAL: { en: 'The server hit an unexpected error.', zh: '服务器发生了意外错误。' },
  SHOT_CAPTION_INVALID: { en: 'A caption is at most 200 characters.', zh: '字幕最多 200 个字符。' },
  SHOT_NARRATION_INVALID: { en: 'A narration is at most 500 characters.', zh: '旁白最多 500 个字符。' },
  SHOT_TRANSITION_INVALID: { en: 'A transition lasts from 0 to 2 seconds.', zh: '转场时长必须在 0 到 2 秒之间。' },
  SCENE_MUSIC_UNKNOWN: { en: 'The chosen music is not a bundled bed or a file of this room.', zh: '所选音乐既不是内置配乐，也不是这个房间的文件。' },
  ASSET_NOT_AUDIO: { en: 'That file is not audio the server can read. Try a WAV, MP3, OGG or M4A file.', zh: '服务器无法读取这个音频文件。请试试 WAV、MP3、OGG 或 M4A 文件。' },
  ASSET_TOO_LARGE: { en: 'That audio file is too large for the server.', zh: '这个音频文件太大，服务器不接受。' },
  ASSET_NOT_FOUND: { en: 'That audio file is no longer in this room.', zh: '这个音频文件已不在这个房间里。' },
};

/** A sentence for `code` in the current language, with the server's message when it adds something. */
export function describeError(code: string | undefined, serverMessage?: string): string {
  const words = code ? WORDS[code as ErrorCode] : undefined;
  if (!words) return serverMessage ?? (lang() === 'zh' ? '发生了未知错误。' : 'Something went wrong.');
  const sentence = words[lang()];
  return serverMessage && !words.plain && serverMessage !== sentence ? `${sentence} (${serverMessage})` : sentence;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  describe(): string {
    return describeError(this.code, this.message);
  }
}

async function call<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError('NETWORK', lang() === 'zh' ? '无法连接服务器。' : 'The server could not be reached.', 0);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: described below
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(error?.code ?? `HTTP_${res.status}`, error?.message ?? `${res.status} ${res.statusText}`, res.status);
  }
  return body as T;
}

/** An instant replay of a live stream (server/live/live-clips.ts). */
export interface LiveClip {
  id: string;
  status: 'encoding' | 'done' | 'failed';
  seconds: number;
  url: string | null;
  error: { code: string; message: string } | null;
}

/** An uploaded audio file of a room (for `meta.music`). */
export interface AudioAsset {
  id: string;
  name: string;
  /** Its length. */
  seconds: number;
}

export const api = {
  createRoom: (body: CreateRoomRequest) => call<CreateRoomResponse>('/api/rooms', { method: 'POST', body: JSON.stringify(body) }),
  templates: () => call<{ templates: Template[] }>('/api/templates'),
  startRender: (room: string, token: string) =>
    call<{ render: RenderInfo }>(`/api/rooms/${encodeURIComponent(room)}/renders`, { method: 'POST', body: '{}', token }),
  render: (id: string, token: string) => call<RenderInfo>(`/api/renders/${encodeURIComponent(id)}`, { token }),
  cancelRender: (id: string, token: string) => call<RenderInfo>(`/api/renders/${encodeURIComponent(id)}`, { method: 'DELETE', token }),
  /** The room's newest render (`status` to ask for the newest finished one), or null. */
  latestRender: (room: string, token: string, status?: RenderInfo['status']) =>
    call<{ render: RenderInfo | null }>(`/api/rooms/${encodeURIComponent(room)}/renders/latest${status ? `?status=${status}` : ''}`, { token }),
  /** Every share link of the room (editors only); with `expiresInHours` the viewer and overlay links stop working then. */
  links: (room: string, token: string, expiresInHours?: number) =>
    call<CreateRoomResponse>(`/api/rooms/${encodeURIComponent(room)}/links${expiresInHours ? `?expiresInHours=${expiresInHours}` : ''}`, { token }),
  /** New links for the room; every older token of it (this `token` too) stops working at once. */
  rotateLinks: (room: string, token: string, expiresInHours?: number) =>
    call<CreateRoomResponse>(`/api/rooms/${encodeURIComponent(room)}/links/rotate`, { method: 'POST', body: JSON.stringify(expiresInHours ? { expiresInHours } : {}), token }),
  /** The room and everything of it, for everyone (204). */
  deleteRoom: (room: string, token: string) => call<null>(`/api/rooms/${encodeURIComponent(room)}`, { method: 'DELETE', token }),
  /** The room's uploaded audio files. */
  assets: (room: string, token: string) => call<{ assets: AudioAsset[] }>(`/api/rooms/${encodeURIComponent(room)}/assets`, { token }),
  /** Uploads an audio file (editors): the body is the file itself, with its own Content-Type. */
  uploadAsset: (room: string, token: string, file: Blob) =>
    call<{ asset: AudioAsset }>(`/api/rooms/${encodeURIComponent(room)}/assets`, { method: 'POST', body: file, headers: { 'content-type': file.type || 'application/octet-stream' }, token }),
  /** Saves the last 30 s of the room's live stream as an MP4 (editors); poll `liveClip` until it is done. */
  saveLiveClip: (room: string, token: string) => call<{ clip: LiveClip }>(`/api/rooms/${encodeURIComponent(room)}/live/clips`, { method: 'POST', body: '{}', token }),
  liveClip: (room: string, id: string, token: string) => call<{ clip: LiveClip }>(`/api/rooms/${encodeURIComponent(room)}/live/clips/${encodeURIComponent(id)}`, { token }),
  /** How the bundled model reads a prompt (any token of a room). */
  readPrompt: (text: string, token: string) => call<PromptReading>('/api/prompts/read', { method: 'POST', body: JSON.stringify({ text }), token }),
  suggest: (room: string, token: string, text: string, author?: string) =>
    call<{ suggestion: Suggestion }>(`/api/rooms/${encodeURIComponent(room)}/suggestions`, { method: 'POST', body: JSON.stringify({ text, ...(author ? { author } : {}) }), token }),
};

/** A bundled music bed as WAV (public: the beds are the same on every server). */
export const bedUrl = (id: string): string => `/api/beds/${encodeURIComponent(id)}.wav`;

/** An uploaded audio file of the room, playable by <audio> and fetch (the token rides in the query). */
export const assetUrl = (room: string, id: string, token: string): string => `/api/rooms/${encodeURIComponent(room)}/assets/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`;

/** The shot's current narration spoken in the scene's voice (WAV; 404 when the shot has none). */
export const narrationUrl = (room: string, shot: string, token: string): string =>
  `/api/rooms/${encodeURIComponent(room)}/narration.wav?shot=${encodeURIComponent(shot)}&token=${encodeURIComponent(token)}`;

/** The video of a finished render, playable by <video> (the token rides in the query). */
export const videoUrl = (url: string, token: string): string => `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
