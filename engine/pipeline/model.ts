/**
 * A loaded bundle: manifest, tokenizer, ONNX sessions and the text-conditioning cache. One per
 * engine worker. The cache is in memory only: encoding a prompt costs about a millisecond, less
 * than reading it back from disk would.
 */
import { loadBundle, type Bundle, type ProfileName } from '../bundle/manifest.js';
import { LruCache } from './lru.js';
import { ModelSessions, type SessionOptions } from './onnx-sessions.js';
import { Tokenizer, normalizePrompt } from './tokenizer.js';

export interface TextCondition {
  context: Float32Array;
  mask: Float32Array;
  pooled: Float32Array;
}

export interface ModelOptions extends SessionOptions {
  /** Bytes of text conditioning kept (default 16 MiB). */
  textCacheBytes?: number;
  /** false: prompts are tokenised as written, without the bundle's reader (the eval's baseline). */
  reader?: boolean;
}

export class EngineModel {
  readonly textCache: LruCache<string, TextCondition>;

  private constructor(
    readonly bundle: Bundle,
    readonly tokenizer: Tokenizer,
    readonly sessions: ModelSessions,
    options: ModelOptions,
  ) {
    this.textCache = new LruCache(options.textCacheBytes ?? 16 * 1024 * 1024, (c) => (c.context.length + c.mask.length + c.pooled.length) * 4);
  }

  static async load(dir: string, options: ModelOptions = {}): Promise<EngineModel> {
    const loaded = await loadBundle(dir);
    const bundle = options.reader === false ? { ...loaded, reader: null } : loaded;
    const { manifest } = bundle;
    const graphs = ['text_encoder', 'decoder'];
    for (const profile of Object.values(manifest.profiles)) graphs.push(profile.denoiser, ...(profile.experts ?? []).map((e) => e.denoiser), ...profile.upscalers);
    const sessions = await ModelSessions.load(bundle, graphs, options);
    return new EngineModel(bundle, new Tokenizer(manifest.tokenizer), sessions, options);
  }

  get manifest() {
    return this.bundle.manifest;
  }

  profile(name: ProfileName) {
    return this.manifest.profiles[name];
  }

  /** Text conditioning of a prompt, from the cache when this bundle has seen the same text. */
  async encodeText(text: string): Promise<TextCondition> {
    const key = normalizePrompt(text).trim();
    const cached = this.textCache.get(key);
    if (cached) return cached;
    const ids = this.tokenizer.encode(key);
    const { pad_id } = this.manifest.tokenizer;
    const out = await this.sessions.run('text_encoder', { input_ids: { data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] } });
    const condition: TextCondition = {
      context: out.context!.data.slice(),
      mask: Float32Array.from(ids, (id) => (id === pad_id ? 0 : 1)),
      pooled: out.pooled!.data.slice(),
    };
    this.textCache.set(key, condition);
    return condition;
  }

  dispose(): Promise<void> {
    return this.sessions.dispose();
  }
}
