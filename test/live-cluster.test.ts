/**
 * Live mode scaled out on the real Redis, with real processes: two nodes (they hold the document
 * and direct the stream) and engine workers (they make it). One worker makes the room's stream at a
 * time; its frames are published once and relayed by both nodes; a second worker waits; kill -9 of
 * the streaming worker and the other takes over from the last frame sent, within a few seconds; a
 * prompt change on node A reaches the worker; a viewer token cannot steer.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { liveOf, livePromptText, readLive } from '../shared/live.js';
import type { CreateRoomResponse } from '../shared/protocol.js';
import { startCluster } from './helpers/cluster.js';
import { watchLive as watch } from './helpers/live-watch.js';
import { fetchWithin, within } from './helpers/server.js';
import { connectYjs, until } from './helpers/yjs-client.js';


/** Mean absolute difference of two JPEG frames' pixels (0..255). */
async function difference(a: Uint8Array, b: Uint8Array): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((j) => sharp(j).raw().toBuffer()));
  let sum = 0;
  for (let i = 0; i < x!.length; i++) sum += Math.abs(x![i]! - y![i]!);
  return sum / x!.length;
}

describe('live mode scaled out', () => {
  it('one worker streams, both nodes relay; kill -9 of it: the other worker goes on from the last frame within a few seconds; a viewer cannot steer', async () => {
    const cluster = await startCluster();
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    const first = await cluster.worker({ DATA_DIR: `${cluster.env.BLOB_DIR}-w1` });
    const res = await fetchWithin(`${a.url}/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scene: { fps: 8, shots: [{ id: 's1', prompt: 'a green box', duration: 1 }] } }),
    });
    const room = (await res.json()) as CreateRoomResponse;
    const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
    await within('the editor’s first sync', 20_000, editor.synced);
    const onA = watch(a.url, room.tokens.viewer);
    const onB = watch(b.url, room.tokens.overlay);
    editor.doc.transact(() => {
      liveOf(editor.doc).set('on', true);
      livePromptText(editor.doc).insert(0, 'a red ball moves right on the grass');
    });

    // One stream, relayed by both nodes: the same frames, numbered once.
    await expect.poll(() => onB.frames.length, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(24);
    await expect.poll(() => onA.frames.length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(24);
    const seqsB = onB.frames.map((f) => f.seq);
    expect(new Set(seqsB).size).toBe(seqsB.length);
    for (let i = 1; i < seqsB.length; i++) expect(seqsB[i]).toBe(seqsB[i - 1]! + 1);
    const common = onA.frames.filter((f) => seqsB.includes(f.seq));
    expect(common.length).toBeGreaterThan(10);
    expect(onB.states.some((s) => s.status === 'live' && s.prompt === 'a red ball moves right on the grass')).toBe(true);

    // A second worker waits: still one stream (no frame number twice).
    await cluster.worker({ DATA_DIR: `${cluster.env.BLOB_DIR}-w2` });
    const before = onB.frames.length;
    await expect.poll(() => onB.frames.length - before, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(24);
    const all = onB.frames.map((f) => f.seq);
    expect(new Set(all).size).toBe(all.length);

    // kill -9 of the worker that streams: the other one takes the lease over and goes on from its checkpoint.
    await first.kill9();
    await new Promise((r) => setTimeout(r, 300)); // frames it sent before it died, still on their way
    const seen = onB.frames.length;
    const last = onB.frames.at(-1)!;
    const next = await within('frames from the other worker', 30_000, (async () => {
      while (onB.frames.length === seen) await new Promise((r) => setTimeout(r, 20));
      return onB.frames[seen]!;
    })());
    const gap = next.at - last.at;
    console.log(`live failover: last frame ${last.seq} before the kill, first after ${next.seq}, gap ${Math.round(gap)} ms`);
    expect(gap).toBeLessThan(10_000);
    // Numbered on from the last frame sent (at most the very last one again, when its save did not land).
    expect(next.seq).toBeGreaterThanOrEqual(last.seq);
    expect(next.seq).toBeLessThanOrEqual(last.seq + 1);
    // The picture goes on from the last frames (their latents are the context), not from noise.
    const diff = await difference(last.data, next.data);
    console.log(`live failover: mean pixel difference across it ${diff.toFixed(1)}`);
    expect(diff).toBeLessThan(20);
    await expect.poll(() => onB.frames.filter((f) => f.at >= next.at).length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(16);

    // A prompt change on node A reaches the new worker.
    const changedAt = onB.frames.at(-1)!.seq;
    const text = livePromptText(editor.doc);
    editor.doc.transact(() => {
      text.delete(0, text.length);
      text.insert(0, 'a blue star spins at night');
    });
    const applied = await within('the new prompt on air', 20_000, (async () => {
      for (;;) {
        const s = onB.states.find((x) => x.prompt === 'a blue star spins at night' && x.appliedAt !== undefined);
        if (s) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    })());
    expect(applied.appliedAt!).toBeGreaterThan(changedAt);

    // A viewer's edits of the live map are not applied.
    const viewer = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
    await within('the viewer’s first sync', 20_000, viewer.synced);
    await until(viewer.doc, (d) => readLive(d).prompt === 'a blue star spins at night');
    liveOf(viewer.doc).set('on', false);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readLive(editor.doc).on).toBe(true);
    const count = onA.frames.length;
    await expect.poll(() => onA.frames.length - count, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(8);

    // Turned off by an editor: the stream stops.
    liveOf(editor.doc).set('on', false);
    await expect.poll(() => onB.states.at(-1)?.status, { timeout: 20_000, interval: 50 }).toBe('stopped');
  }, 240_000);
});
