import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ERRORS } from '../shared/errors.js';
import { readScene, shotMap, shotsOf, writeScene } from '../shared/scene-doc.js';
import { LIMITS, validateScene } from '../shared/scene.js';

const shot = (over: Record<string, unknown> = {}) => ({ id: 's1', prompt: 'a red ball', duration: 2, camera: 'static', ...over });

describe('scene schema', () => {
  it('fills defaults for a minimal scene', () => {
    const result = validateScene({ shots: [{ id: 'a', prompt: '一个红色的球' }] });
    expect(result).toEqual({
      ok: true,
      value: {
        title: 'Untitled scene',
        fps: 16,
        template: 'none',
        seed: 0,
        shots: [{ id: 'a', prompt: '一个红色的球', duration: 2, camera: 'static' }],
        // Post-production (DESIGN.md): captions burned and soft, no music, ducking on, -14 LUFS.
        captions: 'both',
        music: 'none',
        musicVolume: 0.35,
        duck: true,
        loudness: -14,
        voice: {},
      },
    });
  });

  it.each([
    ['a duration below 0.5 s', { shots: [shot({ duration: 0.2 })] }, 'SHOT_DURATION_OUT_OF_RANGE', 'shots.0.duration'],
    ['a duration above 10 s', { shots: [shot({ duration: 11 })] }, 'SHOT_DURATION_OUT_OF_RANGE', 'shots.0.duration'],
    ['a duration that is not a number', { shots: [shot({ duration: '2' })] }, 'SHOT_DURATION_OUT_OF_RANGE', 'shots.0.duration'],
    ['an unknown camera', { shots: [shot({ camera: 'dolly-zoom' })] }, 'SHOT_CAMERA_UNKNOWN', 'shots.0.camera'],
    ['duplicate shot ids', { shots: [shot(), shot({ prompt: 'x' })] }, 'SHOT_ID_DUPLICATE', 'shots.1.id'],
    ['an overlong prompt', { shots: [shot({ prompt: 'x'.repeat(501) })] }, 'SHOT_PROMPT_TOO_LONG', 'shots.0.prompt'],
    ['an overlong Chinese prompt', { shots: [shot({ prompt: '星'.repeat(501) })] }, 'SHOT_PROMPT_TOO_LONG', 'shots.0.prompt'],
    ['a bad shot id', { shots: [shot({ id: 'has space' })] }, 'SHOT_ID_INVALID', 'shots.0.id'],
    ['fps out of range', { fps: 60 }, 'SCENE_FPS_INVALID', 'fps'],
    ['a fractional fps', { fps: 12.5 }, 'SCENE_FPS_INVALID', 'fps'],
    ['an overlong title', { title: 't'.repeat(201) }, 'SCENE_TITLE_INVALID', 'title'],
    ['a negative seed', { seed: -1 }, 'SCENE_SEED_INVALID', 'seed'],
    ['too many shots', { shots: Array.from({ length: LIMITS.maxShots + 1 }, (_, i) => shot({ id: `s${i}` })) }, 'SCENE_TOO_MANY_SHOTS', 'shots'],
  ])('rejects %s with its code', (_name, input, code, path) => {
    const result = validateScene(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ code, path });
    expect(result.issues[0]!.message).toContain(path);
  });

  it('accepts exactly 500 characters and the duration bounds', () => {
    expect(validateScene({ shots: [shot({ prompt: 'x'.repeat(500), duration: 0.5 }), shot({ id: 's2', duration: 10 })] }).ok).toBe(true);
  });

  it('every error code has a message and an HTTP status', () => {
    for (const [code, { status, message }] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(message.length).toBeGreaterThan(5);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
    // Codes are object keys, hence unique; messages should be too, so a person can tell them apart.
    const messages = Object.values(ERRORS).map((e) => e.message);
    expect(new Set(messages).size).toBe(messages.length);
  });
});

describe('scene in a Y.Doc', () => {
  it('writes and reads back the same scene', () => {
    const doc = new Y.Doc();
    const scene = validateScene({ title: 'T', fps: 24, template: 'neon-night', seed: 7, shots: [shot({ negative: 'blurry', seed: 3 }), shot({ id: 's2', camera: 'zoom-in' })] });
    if (!scene.ok) throw new Error('invalid');
    writeScene(doc, scene.value);
    expect(readScene(doc)).toEqual({ scene: scene.value, skipped: [], metaIssues: [] });
  });

  it('skips invalid shots with their reasons instead of failing', () => {
    const doc = new Y.Doc();
    writeScene(doc, { shots: [{ id: 's1', prompt: 'a red ball' }] });
    doc.transact(() => {
      shotsOf(doc).push([shotMap({ id: 's2', prompt: 'ok', duration: 99 } as never)]);
      shotsOf(doc).push([shotMap({ id: 's1', prompt: 'dup' })]);
      const broken = new Y.Map<unknown>();
      broken.set('id', 's4');
      broken.set('prompt', new Y.Text('z'.repeat(600)));
      shotsOf(doc).push([broken]);
      doc.getMap('meta').set('fps', 1000);
    });
    const reading = readScene(doc);
    expect(reading.scene.shots.map((s) => s.id)).toEqual(['s1']);
    expect(reading.scene.fps).toBe(16);
    expect(reading.metaIssues).toHaveLength(1);
    expect(reading.skipped.map((s) => [s.index, s.id, s.issues[0]!.code])).toEqual([
      [1, 's2', 'SHOT_DURATION_OUT_OF_RANGE'],
      [2, 's1', 'SHOT_ID_DUPLICATE'],
      [3, 's4', 'SHOT_PROMPT_TOO_LONG'],
    ]);
  });
});
