/**
 * The room's newest render, followed from Socket.IO events (`render:progress`, `render:done`,
 * `render:error`). Whoever started it, every page of the room sees its progress; the shot list and
 * frame counts come from GET /api/renders/:id the first time an id shows up.
 */
import type { CaptionMode } from '../../../shared/post.js';
import type { RenderDone, RenderError, RenderInfo, RenderProgress } from '../../../shared/protocol.js';
import { api } from './api.js';
import type { EventSocket } from './connection.js';

export interface ShotProgress {
  id: string;
  done: number;
  total: number;
  cached: boolean;
}

export interface RenderView {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  stage: string;
  /** In scene order once known, else in the order progress arrived. */
  shots: ShotProgress[];
  /** 0…1 */
  fraction: number;
  url: string | null;
  bytes: number | null;
  seconds: number | null;
  error: { code: string; message: string } | null;
  /** Post-production's notes (a narration longer than its shot, a shortened transition). */
  warnings: string[];
  /** When done: the captions as WebVTT, if the scene had some. */
  captionsUrl: string | null;
  /** How the rendered scene delivers its captions (burned into the picture, a soft track, both, none). */
  captionMode: CaptionMode | null;
}

export class RenderTracker {
  current: RenderView | null = null;
  readonly #listeners = new Set<(view: RenderView | null) => void>();
  readonly #known = new Set<string>();

  constructor(
    socket: EventSocket,
    /** The page's token now (an editor's changes when the room's links are replaced). */
    private readonly token: () => string,
  ) {
    socket.on('render:progress', (p) => this.#progress(p));
    socket.on('render:done', (d) => this.#done(d));
    socket.on('render:error', (e) => this.#error(e));
  }

  onChange(listener: (view: RenderView | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A render this page started (or looked up): adopt its record. */
  adopt(info: RenderInfo): void {
    const view = this.#view(info.id, true, false);
    if (!view) return;
    const existing = new Map(view.shots.map((s) => [s.id, s]));
    view.shots = info.scene.shots.map((shot) => {
      const recorded = info.shots.find((s) => s.id === shot.id);
      const total = recorded?.frames ?? Math.max(1, Math.round(shot.duration * info.scene.fps));
      return existing.get(shot.id) ?? { id: shot.id, done: recorded?.done ?? 0, total, cached: recorded?.cached ?? false };
    });
    if (view.status === 'queued' || view.status === 'running') {
      view.status = info.status;
      view.stage = info.stage;
    }
    if (info.status === 'done') Object.assign(view, { status: 'done', stage: 'done', url: info.url, bytes: info.bytes, seconds: info.seconds });
    if (info.warnings?.length) view.warnings = [...info.warnings];
    view.captionsUrl = info.captionsUrl ?? view.captionsUrl;
    view.captionMode = info.scene.captions ?? view.captionMode;
    if (info.error) Object.assign(view, { status: info.status, error: info.error });
    this.#emit();
  }

  #view(id: string, create: boolean, lookUp = true): RenderView | null {
    if (this.current?.id === id) return this.current;
    // Events of an older render than the one shown (it was replaced) are ignored.
    if (!create || this.#known.has(id)) return null;
    this.#known.add(id);
    this.current = { id, status: 'queued', stage: 'queued', shots: [], fraction: 0, url: null, bytes: null, seconds: null, error: null, warnings: [], captionsUrl: null, captionMode: null };
    if (lookUp) {
      void api.render(id, this.token()).then(
        (info) => this.adopt(info),
        () => {},
      );
    }
    return this.current;
  }

  #progress(p: RenderProgress): void {
    const view = this.#view(p.id, true);
    if (!view || view.status === 'done' || view.status === 'failed' || view.status === 'cancelled') return;
    view.status = 'running';
    view.stage = p.stage;
    if (p.shot) {
      let shot = view.shots.find((s) => s.id === p.shot);
      if (!shot) {
        shot = { id: p.shot, done: 0, total: p.total, cached: false };
        view.shots.push(shot);
      }
      shot.done = p.done;
      shot.total = p.total;
      if (p.cached !== undefined) shot.cached = p.cached;
    }
    if (p.warnings?.length) view.warnings = [...p.warnings];
    this.#emit();
  }

  #done(d: RenderDone): void {
    const view = this.#view(d.id, true);
    if (!view) return;
    Object.assign(view, { status: 'done', stage: 'done', url: d.url, bytes: d.bytes, seconds: d.seconds });
    for (const shot of view.shots) shot.done = shot.total;
    this.#emit();
    // The event has no captions or notes: the finished record has.
    void api.render(d.id, this.token()).then(
      (info) => {
        if (this.current?.id === info.id) this.adopt(info);
      },
      () => {},
    );
  }

  #error(e: RenderError): void {
    const view = this.#view(e.id, true);
    if (!view) return;
    view.status = e.code === 'RENDER_CANCELLED' ? 'cancelled' : 'failed';
    view.error = { code: e.code, message: e.message };
    this.#emit();
  }

  #emit(): void {
    const view = this.current;
    if (view) {
      const total = view.shots.reduce((sum, s) => sum + s.total, 0);
      const done = view.shots.reduce((sum, s) => sum + Math.min(s.done, s.total), 0);
      // Generating is most of the work; joining the encoded shots is quick.
      view.fraction = view.status === 'done' ? 1 : view.stage === 'join' ? 0.97 : total > 0 ? (0.95 * done) / total : 0;
    }
    for (const listener of this.#listeners) listener(view);
  }
}
