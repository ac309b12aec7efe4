/**
 * The bundle's tokenizer (BUNDLE.md, Tokenizer), byte for byte the same as engine/training:
 * NFKC, lower case, `[a-z]+` runs and single CJK characters as tokens, everything else separates.
 */
import type { Manifest } from '../bundle/manifest.js';

const TOKEN = /[a-z]+|[\u3400-\u4dbf\u4e00-\u9fff]/g;

/** The text normalised the way the tokenizer sees it (also the text-embedding cache key). */
export const normalizePrompt = (text: string): string => text.normalize('NFKC').toLowerCase();

export function splitTokens(text: string): string[] {
  return normalizePrompt(text).match(TOKEN) ?? [];
}

export class Tokenizer {
  readonly #ids: Map<string, number>;
  readonly #spec: Manifest['tokenizer'];

  constructor(spec: Manifest['tokenizer']) {
    this.#spec = spec;
    this.#ids = new Map(spec.vocab.map((word, id) => [word, id]));
  }

  get maxLength(): number {
    return this.#spec.max_length;
  }

  encode(text: string): number[] {
    const { max_length, pad_id, unk_id, bos_id, eos_id } = this.#spec;
    const ids = splitTokens(text)
      .slice(0, max_length - 2)
      .map((token) => this.#ids.get(token) ?? unk_id);
    const out = [bos_id, ...ids, eos_id];
    while (out.length < max_length) out.push(pad_id);
    return out;
  }

  /** Words of `text` that the model has never seen (shown to users as a hint). */
  unknownWords(text: string): string[] {
    return [...new Set(splitTokens(text).filter((t) => !this.#ids.has(t)))];
  }
}
