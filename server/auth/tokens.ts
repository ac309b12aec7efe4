/**
 * Room tokens: `v1.<room>.<role>.<mac>` where mac = base64url(HMAC-SHA256(secret, "v1.<room>.<role>")).
 * Stateless, so any server node with the same secret verifies them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ScenecastError } from '../../shared/errors.js';
import { ROLES, ROOM_ID_PATTERN, type Role } from '../../shared/protocol.js';

export interface TokenClaims {
  room: string;
  role: Role;
}

export class TokenSigner {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(secret, 'utf8');
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#key).update(body).digest();
  }

  sign(claims: TokenClaims): string {
    const body = `v1.${claims.room}.${claims.role}`;
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  /** The claims of a well-formed, correctly signed token; throws TOKEN_MISSING / TOKEN_INVALID. */
  verify(token: string | undefined | null): TokenClaims {
    if (!token) throw new ScenecastError('TOKEN_MISSING');
    const parts = token.split('.');
    const [version, room, role, mac] = parts;
    if (parts.length !== 4 || version !== 'v1' || !room || !ROOM_ID_PATTERN.test(room) || !mac) {
      throw new ScenecastError('TOKEN_INVALID');
    }
    if (!(ROLES as readonly string[]).includes(role ?? '')) throw new ScenecastError('TOKEN_INVALID');
    const expected = this.#mac(`v1.${room}.${role}`);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ScenecastError('TOKEN_INVALID');
    }
    return { room, role: role as Role };
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
