/**
 * POST /api/prompts/read {text} (any token of a room): how the bundled model reads a prompt (the
 * bundle's prompt reader, the same reading the engine generates from), the words it ignores and
 * the camera move the prompt's words ask for. Editors' pages show it under each prompt as people type.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/scene.js';
import type { PromptReader } from '../../engine/index.js';
import type { AppContext } from '../app-context.js';
import { tokenFrom } from '../auth/tokens.js';

const Body = z.object({ text: z.string().max(LIMITS.promptChars) }).strict();

export const promptsPlugin: FastifyPluginAsync<{ ctx: AppContext; reader: PromptReader | null }> = async (app, { ctx, reader }) => {
  app.post('/api/prompts/read', async (request) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    await ctx.access.check(tokenFrom(request.headers, query));
    const body = Body.safeParse(request.body ?? {});
    if (!body.success) throw new ScenecastError('INVALID_BODY', `text: ${body.error.issues[0]?.message ?? 'invalid'} (at most ${LIMITS.promptChars} characters)`);
    if (!reader) return { reading: body.data.text.normalize('NFKC').toLowerCase().trim(), ignored: [], camera: null };
    return reader.read(body.data.text);
  });
};
