import { describe, expect, it } from 'vitest';
import { CLOSE } from '../shared/protocol.js';
import { TokenSigner } from '../server/auth/tokens.js';
import { startServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';

describe('Yjs endpoint: who may connect', () => {
  it('closes with 4401, 4403 and 4404 and a coded reason', async () => {
    const server = await startServer();
    const a = await server.createRoom();
    const b = await server.createRoom();
    const base = `${server.wsUrl}/yjs`;

    const missing = await openRaw(`${base}/${a.room}`);
    expect(await missing.closed).toEqual({ code: CLOSE.BAD_TOKEN, reason: 'TOKEN_MISSING: A token is required' });

    const forged = await openRaw(`${base}/${a.room}?token=${a.tokens.editor.slice(0, -4)}AAAA`);
    expect((await forged.closed).code).toBe(CLOSE.BAD_TOKEN);
    expect((await forged.closed).reason).toMatch(/^TOKEN_INVALID/);

    const garbage = await openRaw(`${base}/${a.room}?token=hello`);
    expect((await garbage.closed).code).toBe(CLOSE.BAD_TOKEN);

    const otherRoom = await openRaw(`${base}/${a.room}?token=${b.tokens.editor}`);
    expect((await otherRoom.closed).code).toBe(CLOSE.FORBIDDEN);
    expect((await otherRoom.closed).reason).toMatch(/^TOKEN_WRONG_ROOM/);

    // A correctly signed token for a room that does not exist.
    const signer = new TokenSigner('test-secret-0123456789abcdef');
    const ghost = 'ghostroom12345';
    const unknown = await openRaw(`${base}/${ghost}?token=${signer.sign({ room: ghost, role: 'editor' })}`);
    expect((await unknown.closed).code).toBe(CLOSE.UNKNOWN_ROOM);
    expect((await unknown.closed).reason).toMatch(/^ROOM_NOT_FOUND/);

    // A token of another server (another secret) is invalid here.
    const foreign = new TokenSigner('another-secret-0123456789abcdef');
    const stranger = await openRaw(`${base}/${a.room}?token=${foreign.sign({ room: a.room, role: 'editor' })}`);
    expect((await stranger.closed).code).toBe(CLOSE.BAD_TOKEN);

    // The token may also come in the Authorization header.
    const good = await openRaw(`${base}/${a.room}`, { authorization: `Bearer ${a.tokens.viewer}` });
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    await good.next();
  });

  it('refuses new rooms with 4503 when every loaded room is in use, and admits them once one is idle', async () => {
    const server = await startServer({ maxRoomsLoaded: 1, roomIdleMs: 60_000 });
    const a = await server.createRoom();
    const b = await server.createRoom();
    const first = await openRaw(`${server.wsUrl}/yjs/${a.room}?token=${a.tokens.editor}`);
    await first.next();
    const second = await openRaw(`${server.wsUrl}/yjs/${b.room}?token=${b.tokens.editor}`);
    const closed = await second.closed;
    expect(closed.code).toBe(CLOSE.AT_CAPACITY);
    expect(closed.reason).toMatch(/^ROOMS_AT_CAPACITY/);

    first.ws.close();
    await first.closed;
    // Room a is idle now (not yet unloaded): it makes way for b.
    await expect.poll(async () => {
      const third = await openRaw(`${server.wsUrl}/yjs/${b.room}?token=${b.tokens.editor}`);
      const ok = third.ws.readyState === third.ws.OPEN && (await third.next().then(() => true, () => false));
      third.ws.close();
      return ok;
    }, { timeout: 5000, interval: 50 }).toBe(true);
    expect(server.app.scenecast.rooms.loadedCount).toBe(1);
  });
});
