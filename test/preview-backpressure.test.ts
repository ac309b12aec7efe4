import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { findShot } from '../shared/scene-doc.js';
import { FrameFanout, MAILBOX_BYTES } from '../server/realtime/frame-fanout.js';
import { sharedEngine } from './helpers/engine.js';
import { PreviewRecorder } from './helpers/preview-recorder.js';
import { startServer } from './helpers/server.js';
import { connectSocket } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

describe('preview backpressure', () => {
  it('a client that stops reading costs a bounded amount of memory and does not slow the others', async () => {
    const engine = await sharedEngine();
    // Large frames fill the kernel's socket buffers (several MB on loopback) in fewer revisions.
    const server = await startServer({ preview: { debounceMs: 20, maxWaitMs: 100, jpegQuality: 100, queueMax: 64 } }, undefined, { engine });
    const room = await server.createRoom({ scene: { fps: 30, shots: [{ id: 'long', prompt: 'a yellow star moves right slowly', duration: 10 }] } });
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await editor.synced;
    await until(editor.doc, (d) => findShot(d, 'long') !== undefined);
    const prompt = findShot(editor.doc, 'long')!.get('prompt') as Y.Text;

    const fast = new PreviewRecorder(connectSocket(server.url, room.tokens.viewer));
    const stalledSocket = connectSocket(server.url, room.tokens.viewer);
    await new Promise<void>((resolve) => stalledSocket.once('room:joined', () => resolve()));
    await fast.done('long');
    // Stop reading: the TCP window closes and the server's writes to this socket back up.
    const transport = stalledSocket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; destroy(): void } } | null };
    transport.ws!._socket.pause();
    const serverSocket = server.app.scenecast.realtime.io.sockets.sockets.get(stalledSocket.id!)!;
    expect(serverSocket).toBeDefined();

    let maxBuffered = 0;
    const fanout: FrameFanout = server.app.scenecast.fanout;
    const sample = setInterval(() => (maxBuffered = Math.max(maxBuffered, fanout.buffered(serverSocket))), 5);
    const dropped = async () => Number(/scenecast_preview_frames_dropped_total (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    let revisions = 0;
    let sentBytes = 0;
    try {
      // Until the kernel's socket buffers are full and frames are being skipped, and two revisions more.
      let afterDrops = 0;
      for (let i = 0; i < 30 && afterDrops < 2; i++) {
        if ((await dropped()) > 0) afterDrops++;
        const before = fast.states.at(-1)!.rev;
        prompt.insert(prompt.length, i % 2 ? ' slowly' : ' quickly');
        const done = await fast.done('long', before);
        revisions++;
        // The fast client got every frame of every revision, in order.
        const frames = fast.framesOf('long', done.rev);
        expect(frames.map((f) => f.index)).toEqual([...Array(300).keys()]);
        sentBytes += frames.reduce((s, f) => s + f.data.length, 0);
      }
    } finally {
      clearInterval(sample);
    }
    expect(await dropped()).toBeGreaterThan(0);
    // What the server holds for the stalled socket stays within its mailbox and one frame in flight,
    // however much was sent.
    expect(maxBuffered).toBeLessThan(MAILBOX_BYTES + 16 * 1024);
    expect(sentBytes).toBeGreaterThan(maxBuffered * 20);
    transport.ws?._socket.destroy(); // the server may have dropped it already (no pongs while paused)
  }, 300_000);

  it('a preview state never overtakes the frames still waiting for a slow socket', async () => {
    const server = await startServer();
    const room = await server.createRoom({ scene: { shots: [{ id: 'x', prompt: 'a red ball', duration: 1 }] } });
    const client = connectSocket(server.url, room.tokens.viewer);
    await new Promise<void>((resolve) => client.once('room:joined', () => resolve()));
    const seen: string[] = [];
    client.on('preview:frame', (f: { rev: number; index: number }) => { if (f.rev === 99) seen.push(`frame ${f.index}`); });
    client.on('preview:state', (st: { rev: number; status: string }) => { if (st.rev === 99) seen.push(`state ${st.status}`); });
    const serverSocket = server.app.scenecast.realtime.io.sockets.sockets.get(client.id!)!;
    const fanout: FrameFanout = server.app.scenecast.fanout;
    // Stop reading, and send frames until some wait in the socket's mailbox (the kernel's buffers are full).
    const transport = client.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } };
    transport.ws._socket.pause();
    const data = Buffer.alloc(48 * 1024, 7);
    let count = 0;
    while (fanout.buffered(serverSocket) < MAILBOX_BYTES && count < 2000) {
      server.app.scenecast.events.emit(room.room, 'preview:frame', { shot: 'x', rev: 99, index: count, count: 4000, fps: 16, width: 128, height: 72, data });
      count++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (let i = 0; i < 4; i++) server.app.scenecast.events.emit(room.room, 'preview:frame', { shot: 'x', rev: 99, index: count++, count: 4000, fps: 16, width: 128, height: 72, data });
    server.app.scenecast.events.emit(room.room, 'preview:state', { shot: 'x', rev: 99, status: 'done' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    transport.ws._socket.resume();
    await expect.poll(() => seen.includes('state done'), { timeout: 20_000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The state comes last, after the newest frame (frames in between may have been skipped, never the newest).
    expect(seen.at(-1)).toBe('state done');
    expect(seen.at(-2)).toBe(`frame ${count - 1}`);

    // States are bounded too: stalled again, a burst of states of one shot keeps the newest, not every one.
    const later: number[] = [];
    client.on('preview:state', (st: { rev: number }) => { if (st.rev >= 100) later.push(st.rev); });
    transport.ws._socket.pause();
    for (let i = 0; fanout.buffered(serverSocket) < MAILBOX_BYTES && i < 2000; i++) {
      server.app.scenecast.events.emit(room.room, 'preview:frame', { shot: 'x', rev: 99, index: count++, count: 4000, fps: 16, width: 128, height: 72, data });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (let rev = 100; rev < 3100; rev++) server.app.scenecast.events.emit(room.room, 'preview:state', { shot: 'x', rev, status: 'generating' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fanout.buffered(serverSocket)).toBeLessThan(2 * MAILBOX_BYTES);
    transport.ws._socket.resume();
    await expect.poll(() => later.at(-1), { timeout: 20_000 }).toBe(3099);
    expect(later.length).toBeLessThan(3000);
  }, 60_000);
});
