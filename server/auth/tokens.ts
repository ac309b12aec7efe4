/**
 * Room tokens, stateless so any node with the same secret verifies them:
 *
 *   v2.<room>.<role>.<epoch>.<expires>.<mac>   mac = base64url(HMAC-SHA256(secret, "v2.<room>.<role>.<epoch>.<expires>"))
 *
 * `epoch` is the room's link generation (rotating a room's links moves it on, so older tokens stop
 * working: checked against the room's directory entry by room-access.ts); `expires` is unix
 * seconds, 0 for never. Tokens of the first format, `v1.<room>.<role>.<mac>`, are still accepted
 * as epoch 1 without expiry (links shared before v2).
 *
 * Only the canonical spelling is accepted: the exact characters this signer would write (a base64
 * decoder would also take other spellings of the same bytes: other padding bits, `=`, `+/`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ScenecastError } from '../../shared/errors.js';
import type { Role } from '../../shared/protocol.js';

export interface TokenClaims {
  room: string;
  role: Role;
  /** The room's link generation the token belongs to (1 for the first links). */
  epoch: number;
  /** When the token stops working (ms since the epoch), or null. */
  expiresAt: number | null;
}

export interface SignRequest {
  room: string;
  role: Role;
  /** Default 1. */
  epoch?: number;
  /** ms since the epoch; default: never. */
  expiresAt?: number | null;
}

const V2 = /^v2\.([a-z0-9]{8,32})\.(editor|viewer|overlay)\.([1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;
const V1 = /^v1\.([a-z0-9]{8,32})\.(editor|viewer|overlay)\.([A-Za-z0-9_-]{43})$/;

export class TokenSigner {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(secret, 'utf8');
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }

  sign(claims: SignRequest): string {
    const expires = claims.expiresAt ? Math.ceil(claims.expiresAt / 1000) : 0;
    const body = `v2.${claims.room}.${claims.role}.${claims.epoch ?? 1}.${expires}`;
    return `${body}.${this.#mac(body)}`;
  }

  /**
   * The claims of a well-formed, correctly signed, unexpired token; throws TOKEN_MISSING,
   * TOKEN_INVALID or TOKEN_EXPIRED. Whether its epoch is still the room's is room-access.ts's job.
   */
  verify(token: string | undefined | null, now = Date.now()): TokenClaims {
    if (!token) throw new ScenecastError('TOKEN_MISSING');
    let claims: TokenClaims;
    let body: string;
    let mac: string;
    const v2 = V2.exec(token);
    if (v2) {
      const [, room, role, epoch, expires, given] = v2 as unknown as [string, string, Role, string, string, string];
      claims = { room, role, epoch: Number(epoch), expiresAt: expires === '0' ? null : Number(expires) * 1000 };
      body = `v2.${room}.${role}.${epoch}.${expires}`;
      mac = given;
    } else {
      const v1 = V1.exec(token);
      if (!v1) throw new ScenecastError('TOKEN_INVALID');
      const [, room, role, given] = v1 as unknown as [string, string, Role, string];
      claims = { room, role, epoch: 1, expiresAt: null };
      body = `v1.${room}.${role}`;
      mac = given;
    }
    const expected = Buffer.from(this.#mac(body));
    const spelled = Buffer.from(mac);
    if (spelled.length !== expected.length || !timingSafeEqual(spelled, expected)) throw new ScenecastError('TOKEN_INVALID');
    if (claims.expiresAt !== null && now >= claims.expiresAt) throw new ScenecastError('TOKEN_EXPIRED');
    return claims;
  }

  /** Verifies and checks that the token is for `room`. */
  verifyFor(token: string | undefined | null, room: string): TokenClaims {
    const claims = this.verify(token);
    if (claims.room !== room) throw new ScenecastError('TOKEN_WRONG_ROOM');
    return claims;
  }
}

/** The token of a request: `Authorization: Bearer …` first, then `?token=`. */
export function tokenFrom(headers: Record<string, string | string[] | undefined>, query: URLSearchParams): string | undefined {
  const auth = headers.authorization;
  const header = Array.isArray(auth) ? auth[0] : auth;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match) return match[1];
  }
  return query.get('token') ?? undefined;
}
