/**
 * Every error a client can see: a stable SNAKE_CASE code, an HTTP status and a default message.
 * HTTP bodies are `{"error": {"code", "message", "details"?}}`; WebSocket closes and Socket.IO
 * errors carry the same codes.
 */
export const ERRORS = {
  // request shape
  INVALID_BODY: { status: 400, message: 'The request body is not valid' },
  INVALID_PARAMS: { status: 400, message: 'The request parameters are not valid' },
  NOT_FOUND: { status: 404, message: 'No such route' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than the server accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json' },
  // scene content
  SCENE_INVALID: { status: 400, message: 'The scene is not valid' },
  SCENE_TITLE_INVALID: { status: 400, message: 'The title must be a string of at most 200 characters' },
  SCENE_FPS_INVALID: { status: 400, message: 'fps must be an integer from 8 to 30' },
  SCENE_TEMPLATE_INVALID: { status: 400, message: 'The template id is not valid' },
  TEMPLATE_UNKNOWN: { status: 400, message: 'No template has this id (GET /api/templates lists them)' },
  SCENE_SEED_INVALID: { status: 400, message: 'A seed must be an integer from 0 to 4294967295' },
  SCENE_TOO_MANY_SHOTS: { status: 400, message: 'The scene has too many shots' },
  SCENE_EMPTY: { status: 422, message: 'The scene has no shot to render' },
  SHOT_INVALID: { status: 400, message: 'The shot is not valid' },
  SHOT_ID_INVALID: { status: 400, message: 'A shot id must match [A-Za-z0-9_-]{1,32}' },
  SHOT_ID_DUPLICATE: { status: 400, message: 'Two shots have the same id' },
  SHOT_PROMPT_INVALID: { status: 400, message: 'The prompt must be a string' },
  SHOT_PROMPT_TOO_LONG: { status: 400, message: 'The prompt is longer than 500 characters' },
  SHOT_PROMPT_EMPTY: { status: 422, message: 'The prompt is empty' },
  SHOT_NEGATIVE_INVALID: { status: 400, message: 'The negative prompt must be a string of at most 500 characters' },
  SHOT_DURATION_OUT_OF_RANGE: { status: 400, message: 'A shot lasts from 0.5 to 10 seconds' },
  SHOT_CAMERA_UNKNOWN: { status: 400, message: 'Unknown camera move' },
  SHOT_SEED_INVALID: { status: 400, message: 'A shot seed must be an integer from 0 to 4294967295' },
  SHOT_CAPTION_INVALID: { status: 400, message: 'A caption is a string of at most 200 characters' },
  SHOT_NARRATION_INVALID: { status: 400, message: 'A narration is a string of at most 500 characters' },
  SHOT_TRANSITION_INVALID: { status: 400, message: 'A transition is {type: cut|crossfade|fade-black|slide-left|slide-right, duration: 0 to 2 s}' },
  SCENE_CAPTIONS_INVALID: { status: 400, message: 'captions is one of burn, soft, both, off' },
  SCENE_MUSIC_UNKNOWN: { status: 400, message: 'music is none, a bundled bed (calm, bright, pulse) or an audio asset of the room' },
  SCENE_MUSIC_VOLUME_INVALID: { status: 400, message: 'musicVolume is a number from 0 to 1' },
  SCENE_LOUDNESS_INVALID: { status: 400, message: 'loudness is -14, -16 or -23 (LUFS)' },
  SCENE_VOICE_UNKNOWN: { status: 400, message: 'Unknown narration voice for that language' },
  // auth and rooms
  TOKEN_MISSING: { status: 401, message: 'A token is required' },
  TOKEN_INVALID: { status: 401, message: 'The token is not valid' },
  TOKEN_WRONG_ROOM: { status: 403, message: 'The token belongs to another room' },
  TOKEN_EXPIRED: { status: 401, message: 'This link has expired; ask an editor of the room for a new one' },
  TOKEN_REVOKED: { status: 401, message: 'The links of this room were replaced; ask an editor of the room for the new one' },
  ROLE_FORBIDDEN: { status: 403, message: 'This token may not do that' },
  ROOM_NOT_FOUND: { status: 404, message: 'No such room' },
  ROOM_DELETED: { status: 410, message: 'The room was deleted' },
  ROOMS_AT_CAPACITY: { status: 503, message: 'The server holds as many rooms as it may; try again shortly' },
  ROOM_STORAGE_ERROR: { status: 500, message: 'The room could not be read from or written to storage' },
  // realtime
  MESSAGE_TOO_BIG: { status: 413, message: 'The message is larger than the server accepts' },
  MESSAGE_MALFORMED: { status: 400, message: 'The message could not be decoded' },
  DOC_TOO_LARGE: { status: 413, message: 'The edit would make the scene document larger than the server keeps' },
  TOO_MANY_CONNECTIONS: { status: 429, message: 'Too many connections from your address; close some tabs and try again' },
  UPGRADE_NOT_SERVED: { status: 404, message: 'No WebSocket endpoint at this path' },
  READ_ONLY: { status: 403, message: 'This connection is read-only; the edit was not applied' },
  CLIENT_TOO_SLOW: { status: 503, message: 'The connection fell too far behind; reconnect to resync' },
  // generation
  CONTENT_BLOCKED: { status: 422, message: 'The prompt breaks the content policy' },
  PREVIEW_QUEUE_FULL: { status: 503, message: 'Too many previews are waiting; yours will run after your next edit' },
  ENGINE_FAILED: { status: 500, message: 'The generation engine failed on this shot' },
  ENGINE_UNAVAILABLE: { status: 503, message: 'The generation engine is not running' },
  RENDER_NOT_FOUND: { status: 404, message: 'No such render' },
  RENDER_NOT_READY: { status: 409, message: 'The render has not finished' },
  RENDER_CANCELLED: { status: 409, message: 'The render was cancelled' },
  RENDER_QUEUE_FULL: { status: 429, message: 'Too many renders are waiting; try again when one has finished' },
  RENDER_TOO_LONG: { status: 422, message: 'The scene has more frames than one render may make' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; wait a little and try again' },
  LIVE_OFF: { status: 409, message: 'Live mode is off in this room' },
  LIVE_NOTHING_TO_SAVE: { status: 409, message: 'The live stream has no frames to save yet' },
  VOTE_REPEATED: { status: 409, message: 'You already voted for this suggestion' },
  SUGGESTION_NOT_FOUND: { status: 404, message: 'No such pending suggestion in this room' },
  SUGGESTION_INVALID: { status: 400, message: 'A suggestion is 1 to 200 characters of text' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is outside the file' },
  ASSET_NOT_AUDIO: { status: 415, message: 'The file is not audio this server can read' },
  ASSET_TOO_LARGE: { status: 413, message: 'The audio file is larger than the server accepts' },
  ASSET_NOT_FOUND: { status: 404, message: 'No such asset in this room' },
  CAPTIONS_NOT_FOUND: { status: 404, message: 'This render has no captions' },
  // server
  STORE_UNAVAILABLE: { status: 503, message: 'The shared store (Redis) cannot be reached; try again shortly' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down' },
  INTERNAL: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** An error with a registered code; thrown anywhere, turned into the wire form at the boundary. */
export class ScenecastError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = 'ScenecastError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(ERRORS, value);
