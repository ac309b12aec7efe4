import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CreateRoomResponse, RenderInfo } from '../shared/protocol.js';
import { CLOSE } from '../shared/protocol.js';
import { TokenSigner } from '../server/auth/tokens.js';
import { sharedEngine } from './helpers/engine.js';
import { openRaw } from './helpers/raw-ws.js';
import { startServer, within } from './helpers/server.js';
import { connectSocket, nextEvent } from './helpers/socket-client.js';

const SECRET = 'test-secret-0123456789abcdef';

/** Other spellings of the same signature bytes: the unused low bits of the last base64url character, padding, the `+/` alphabet. */
function respellings(token: string): string[] {
  const dot = token.lastIndexOf('.');
  const mac = token.slice(dot + 1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(mac.at(-1)!);
  const sameBytes = alphabet[(last & ~3) | ((last + 1) & 3)]!; // 43 chars carry 256 bits: the last char's 2 low bits are unused
  const body = token.slice(0, dot + 1);
  return [`${body}${mac.slice(0, -1)}${sameBytes}`, `${token}=`, `${body}${mac.replace(/-/g, '+').replace(/_/g, '/')}`, `${token} `].filter((t) => t !== token);
}

describe('room links', () => {
  it('accepts only the canonical spelling of a token', async () => {
    const signer = new TokenSigner(SECRET);
    const token = signer.sign({ room: 'abcdefgh2345', role: 'viewer' });
    expect(signer.verify(token)).toMatchObject({ room: 'abcdefgh2345', role: 'viewer', epoch: 1, expiresAt: null });
    const others = respellings(token);
    expect(others.length).toBeGreaterThanOrEqual(3);
    for (const other of others) expect(() => signer.verify(other), other).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID' }));
    // Over the wire, too.
    const server = await startServer();
    const room = await server.createRoom();
    for (const other of respellings(room.tokens.viewer)) {
      const res = await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${encodeURIComponent(other)}`);
      expect(res.status, other).toBe(401);
    }
    expect((await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).status).toBe(200);
  });

  it('rotating the links closes every connection of the old ones at once and hands out new ones', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const yjs = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.viewer}`);
    await yjs.next();
    const socket = connectSocket(server.url, room.tokens.overlay);
    await nextEvent(socket, 'room:joined');
    const told = nextEvent(socket, 'room:closed');

    const res = await fetch(`${server.url}/api/rooms/${room.room}/links/rotate`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    const fresh = (await res.json()) as CreateRoomResponse;
    expect(fresh.tokens.viewer).not.toBe(room.tokens.viewer);
    expect(fresh.urls.overlay).toContain(encodeURIComponent(fresh.tokens.overlay));

    expect(await within('old Yjs connection closed', 5000, yjs.closed)).toEqual({ code: CLOSE.BAD_TOKEN, reason: expect.stringMatching(/^TOKEN_REVOKED/) });
    expect(await within('old socket told', 5000, told)).toMatchObject({ code: 'TOKEN_REVOKED' });
    // Old tokens are refused everywhere, new ones work.
    const old = await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${room.tokens.editor}`);
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: { code: string } }).error.code).toBe('TOKEN_REVOKED');
    const again = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.viewer}`);
    expect((await again.closed).reason).toMatch(/^TOKEN_REVOKED/);
    expect((await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${fresh.tokens.viewer}`)).status).toBe(200);
    const fine = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${fresh.tokens.editor}`);
    await fine.next();
    // Only editors may rotate.
    const viewerTry = await fetch(`${server.url}/api/rooms/${room.room}/links/rotate`, { method: 'POST', headers: { authorization: `Bearer ${fresh.tokens.viewer}` } });
    expect(viewerTry.status).toBe(403);
  });

  it('viewer and overlay links may expire; an expired link is refused and its connections closed', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const res = await fetch(`${server.url}/api/rooms/${room.room}/links?expiresInHours=0.0005`, { headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect(res.status).toBe(200);
    const links = (await res.json()) as CreateRoomResponse;
    const claims = new TokenSigner(SECRET).verify(links.tokens.viewer);
    expect(claims.expiresAt).toBeGreaterThan(Date.now());
    expect(new TokenSigner(SECRET).verify(links.tokens.editor).expiresAt).toBeNull();
    const yjs = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${links.tokens.viewer}`);
    await yjs.next();
    // 1.8 s later the link has expired: the open connection is closed, a new one refused.
    expect(await within('expired connection closed', 6000, yjs.closed)).toEqual({ code: CLOSE.BAD_TOKEN, reason: expect.stringMatching(/^TOKEN_EXPIRED/) });
    const late = await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${links.tokens.viewer}`);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('TOKEN_EXPIRED');
    const bad = await fetch(`${server.url}/api/rooms/${room.room}/links?expiresInHours=-1`, { headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect(bad.status).toBe(400);
  });

  it('deleting a room removes its document, renders, cached shots and links, and closes its connections', async () => {
    const engine = await sharedEngine();
    const server = await startServer({}, undefined, { engine });
    const scene = { fps: 8, shots: [{ id: 'a', prompt: 'a red ball moves left', duration: 0.5 }] };
    const room = await server.createRoom({ scene });
    const other = await server.createRoom({ scene: { ...scene, seed: 5 } });
    const socket = connectSocket(server.url, room.tokens.viewer);
    await nextEvent(socket, 'room:joined');
    const render = async (r: CreateRoomResponse, s: ReturnType<typeof connectSocket>) => {
      const res = await fetch(`${server.url}/api/rooms/${r.room}/renders`, { method: 'POST', headers: { authorization: `Bearer ${r.tokens.editor}`, 'content-type': 'application/json' }, body: '{}' });
      const { render } = (await res.json()) as { render: RenderInfo };
      await nextEvent(s, 'render:done', (d) => d.id === render.id, 60_000);
      return render;
    };
    const done = await render(room, socket);
    const otherSocket = connectSocket(server.url, other.tokens.viewer);
    await nextEvent(otherSocket, 'room:joined');
    await render(other, otherSocket);
    const shots = path.join(server.dataDir, 'cache', 'shots');
    // Each shot's segment, and the last latents it keeps beside it for a shot that continues it.
    const segmentsBefore = (await readdir(shots)).filter((f) => f.endsWith('.mp4') && !f.startsWith('tail-'));
    expect(segmentsBefore).toHaveLength(2);
    expect((await readdir(shots)).filter((f) => f.startsWith('tail-'))).toHaveLength(2);

    const yjs = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    await yjs.next();
    const told = nextEvent(socket, 'room:closed');
    const viewerTry = await fetch(`${server.url}/api/rooms/${room.room}`, { method: 'DELETE', headers: { authorization: `Bearer ${room.tokens.viewer}` } });
    expect(viewerTry.status).toBe(403);
    const res = await fetch(`${server.url}/api/rooms/${room.room}`, { method: 'DELETE', headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect(res.status).toBe(204);

    expect((await within('Yjs connection closed', 5000, yjs.closed)).reason).toMatch(/^ROOM_DELETED/);
    expect(await within('socket told', 5000, told)).toMatchObject({ code: 'ROOM_DELETED' });
    expect(existsSync(path.join(server.dataDir, 'rooms', room.room))).toBe(false);
    expect(existsSync(path.join(server.dataDir, 'renders', done.id))).toBe(false);
    expect((await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${room.tokens.editor}`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/renders/${done.id}?token=${room.tokens.editor}`)).status).toBe(404);
    const closed = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    expect((await closed.closed).code).toBe(CLOSE.UNKNOWN_ROOM);
    // Its shot left the cache; the other room's stayed (and that room still works).
    const segmentsAfter = (await readdir(shots)).filter((f) => f.endsWith('.mp4') && !f.startsWith('tail-'));
    expect(segmentsAfter).toHaveLength(1);
    expect((await readdir(shots)).filter((f) => f.startsWith('tail-'))).toHaveLength(1);
    expect((await fetch(`${server.url}/api/rooms/${other.room}/scene?token=${other.tokens.viewer}`)).status).toBe(200);
    // Nothing comes back after a restart.
    await server.close();
    const again = await startServer({}, server.dataDir, { engine });
    expect((await fetch(`${again.url}/api/rooms/${room.room}/scene?token=${room.tokens.editor}`)).status).toBe(404);
    expect(existsSync(path.join(server.dataDir, 'rooms', room.room))).toBe(false);
  }, 120_000);
});
