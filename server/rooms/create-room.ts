/**
 * POST /api/rooms: validate the scene, pick an id, store the first document state, sign tokens.
 */
import { randomInt } from 'node:crypto';
import * as Y from 'yjs';
import { ScenecastError } from '../../shared/errors.js';
import { ROLES, type CreateRoomRequest, type CreateRoomResponse, type Role } from '../../shared/protocol.js';
import { writeScene } from '../../shared/scene-doc.js';
import { LIMITS, validateScene, type SceneInput } from '../../shared/scene.js';
import type { TokenSigner } from '../auth/tokens.js';
import type { DocumentStore } from '../ports/document-store.js';
import type { RoomDirectory } from '../ports/room-directory.js';
import { newRoomId } from './room-id.js';

export interface CreateRoomDeps {
  directory: RoomDirectory;
  store: DocumentStore;
  tokens: TokenSigner;
}

/** The scene a new room starts with: the given one, else one empty shot to type into. */
function initialScene(request: CreateRoomRequest): SceneInput {
  const scene: SceneInput = request.scene ? { ...request.scene } : { shots: [{ id: 'shot-1', prompt: '' }] };
  if (request.title !== undefined) scene.title = request.title;
  scene.seed ??= randomInt(0, LIMITS.maxSeed);
  return scene;
}

export async function createRoom(request: CreateRoomRequest, baseUrl: string, deps: CreateRoomDeps): Promise<CreateRoomResponse> {
  const validated = validateScene(initialScene(request));
  if (!validated.ok) {
    const [first] = validated.issues;
    throw new ScenecastError(first?.code ?? 'SCENE_INVALID', first?.message, { issues: validated.issues });
  }
  const scene = validated.value;
  const room = newRoomId();
  const doc = new Y.Doc();
  writeScene(doc, scene);
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  // The document first: a room is listed only once it can be loaded.
  await deps.store.create(room, state);
  await deps.directory.create({ id: room, title: scene.title, createdAt: new Date().toISOString() });

  return shareLinks(room, baseUrl, deps.tokens);
}

export interface LinkOptions {
  /** The room's link generation (default 1, a new room's). */
  epoch?: number;
  /** When the viewer and overlay links stop working (ms since the epoch); editor links never expire. */
  expiresAt?: number | null;
}

/** The tokens and share links of a room (the same for the same generation and expiry: a token is a signature). */
export function shareLinks(room: string, baseUrl: string, signer: TokenSigner, options: LinkOptions = {}): CreateRoomResponse {
  const epoch = options.epoch ?? 1;
  const tokens = Object.fromEntries(
    ROLES.map((role) => [role, signer.sign({ room, role, epoch, expiresAt: role === 'editor' ? null : (options.expiresAt ?? null) })]),
  ) as Record<Role, string>;
  const enc = encodeURIComponent;
  return {
    room,
    tokens,
    urls: {
      editor: `${baseUrl}/?room=${room}#token=${enc(tokens.editor)}`,
      viewer: `${baseUrl}/?room=${room}#token=${enc(tokens.viewer)}`,
      overlay: `${baseUrl}/overlay/${room}?token=${enc(tokens.overlay)}`,
    },
  };
}
