/**
 * The one content policy of the service, made once in buildApp and handed to everything that takes
 * text from people: previews, renders, audience suggestions (and captions and narration, which are
 * parts of a shot). The default is the bilingual blocklist of shared/moderation.ts; a stronger
 * classifier plugs in through `buildApp(config, { moderation })`.
 */
import { moderate, type Verdict } from '../../shared/moderation.js';
import { ScenecastError } from '../../shared/errors.js';

/** A classifier: a verdict for a text (it may take its time: a model, a remote service). */
export type ModerationHook = (text: string) => Verdict | Promise<Verdict>;

export interface ContentPolicy {
  check(text: string): Promise<Verdict>;
  /** Throws CONTENT_BLOCKED (`what` says where: "Shot a", "Your suggestion") when `text` is refused. */
  enforce(text: string, what: string): Promise<void>;
}

export function contentPolicy(hook: ModerationHook = moderate): ContentPolicy {
  const check = async (text: string): Promise<Verdict> => hook(text);
  return {
    check,
    async enforce(text, what) {
      const verdict = await check(text);
      if (!verdict.ok) throw new ScenecastError('CONTENT_BLOCKED', `${what}: ${verdict.reason ?? 'blocked by the content policy'}`, verdict.term ? { term: verdict.term } : undefined);
    },
  };
}

/** The people's text of a shot, as the policy reads it: prompt, negative prompt, caption and narration. */
export const shotText = (shot: { prompt: string; negative?: string | undefined; caption?: string | undefined; narration?: string | undefined }): string =>
  [shot.prompt, shot.negative, shot.caption, shot.narration].filter((t): t is string => Boolean(t)).join('\n');
