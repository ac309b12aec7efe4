import { describe, expect, it } from 'vitest';
import type { Presence } from '../shared/protocol.js';
import { TokenSigner } from '../server/auth/tokens.js';
import { startServer } from './helpers/server.js';
import { connectError, connectSocket, nextEvent } from './helpers/socket-client.js';

describe('Socket.IO', () => {
  it('admits sockets with a room token, puts them in their room and counts who is there', async () => {
    const server = await startServer();
    const a = await server.createRoom();
    const b = await server.createRoom();
    const editor = connectSocket(server.url, a.tokens.editor);
    expect(await nextEvent(editor, 'room:joined')).toEqual({ room: a.room, role: 'editor' });

    const elsewhere = connectSocket(server.url, b.tokens.viewer);
    await nextEvent(elsewhere, 'room:joined');
    const seenElsewhere: Presence[] = [];
    elsewhere.on('room:presence', (p) => seenElsewhere.push(p));

    const full = nextEvent(editor, 'room:presence', (p) => p.viewer === 2 && p.overlay === 1);
    connectSocket(server.url, a.tokens.viewer);
    connectSocket(server.url, a.tokens.viewer);
    const overlay = connectSocket(server.url, a.tokens.overlay);
    expect(await full).toEqual({ room: a.room, editor: 1, viewer: 2, overlay: 1 });

    const left = nextEvent(editor, 'room:presence', (p) => p.overlay === 0);
    overlay.disconnect();
    expect(await left).toEqual({ room: a.room, editor: 1, viewer: 2, overlay: 0 });
    // Room b heard only about itself.
    expect(seenElsewhere.every((p) => p.room === b.room)).toBe(true);
  });

  it('refuses bad tokens and unknown rooms with a code', async () => {
    const server = await startServer();
    const missing = await connectError(connectSocket(server.url, undefined));
    expect(missing.data?.code).toBe('TOKEN_MISSING');
    const bad = await connectError(connectSocket(server.url, 'v1.abcdefghijklmn.editor.xxxx'));
    expect(bad.data?.code).toBe('TOKEN_INVALID');
    const ghost = new TokenSigner('test-secret-0123456789abcdef').sign({ room: 'ghostroom12345', role: 'viewer' });
    const unknown = await connectError(connectSocket(server.url, ghost));
    expect(unknown.data?.code).toBe('ROOM_NOT_FOUND');
    expect(unknown.message).toContain('ghostroom12345');
  });
});
