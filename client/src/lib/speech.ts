/**
 * How long a narration takes to say, estimated from its text before any speech is made: the
 * render measures the real length (and says when it is longer than its shot).
 */

/** Speaking rates of the offline voices, roughly: English words and Chinese characters per second. */
export const SPEECH_RATE = { enWordsPerSecond: 2.7, zhCharsPerSecond: 4.5 } as const;

const HAN = /\p{Script=Han}/gu;
/** A run of letters or digits, with inner apostrophes and hyphens ("don't", "well-known"). */
const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** Estimated seconds to speak `text` (Chinese characters and other words may mix). */
export function estimateSpokenSeconds(text: string): number {
  const han = text.match(HAN)?.length ?? 0;
  const words = text.replace(HAN, ' ').match(WORD)?.length ?? 0;
  return han / SPEECH_RATE.zhCharsPerSecond + words / SPEECH_RATE.enWordsPerSecond;
}
