/**
 * Named presets a scene can start from (DESIGN.md, Caches): style words added to every prompt, a
 * negative prompt, sampler settings and a default camera. The engine computes each template's
 * conditioning once; the client lists them in its picker.
 */
import type { CameraMove } from './camera.js';

export interface Template {
  id: string;
  name: { en: string; zh: string };
  description: { en: string; zh: string };
  /** Appended to each prompt (words the model knows: backgrounds, speeds). */
  style: string;
  /** Used as the negative prompt of shots that have none. */
  negative: string;
  /** Overrides of the final profile's sampler (preview keeps its distilled settings). */
  sampler: { steps?: number; guidance?: number };
  /** Camera for shots left at `static`. */
  camera: CameraMove | null;
}

export const TEMPLATES: readonly Template[] = [
  {
    id: 'none',
    name: { en: 'No template', zh: '无模板' },
    description: { en: 'Prompts as written', zh: '按原样使用提示词' },
    style: '',
    negative: '',
    sampler: {},
    camera: null,
  },
  {
    id: 'cinematic',
    name: { en: 'Cinematic sunset', zh: '电影感日落' },
    description: { en: 'Warm sunset light, a slow push-in, more sampling steps', zh: '温暖的日落光线，缓慢推近，更多采样步数' },
    style: 'at sunset',
    negative: 'night',
    sampler: { steps: 20, guidance: 3.5 },
    camera: 'zoom-in',
  },
  {
    id: 'neon-night',
    name: { en: 'Neon night', zh: '霓虹夜景' },
    description: { en: 'Night sky, camera drifting sideways', zh: '夜空背景，镜头横向漂移' },
    style: 'in the night sky',
    negative: 'sunset',
    sampler: { guidance: 4 },
    camera: 'pan-right',
  },
  {
    id: 'product-showcase',
    name: { en: 'Product showcase', zh: '产品展示' },
    description: { en: 'Plain grey studio background, steady zoom', zh: '纯灰色背景，稳定推近' },
    style: 'on a plain grey background',
    negative: 'grass',
    sampler: { steps: 16 },
    camera: 'zoom-in',
  },
  {
    id: 'meadow',
    name: { en: 'Meadow', zh: '草地' },
    description: { en: 'On green grass under the sky', zh: '在绿色草地上' },
    style: 'on the grass',
    negative: '',
    sampler: {},
    camera: null,
  },
];

/** Whether `id` names a template (scenes with any other id are refused with TEMPLATE_UNKNOWN). */
export const isTemplateId = (id: string): boolean => TEMPLATES.some((t) => t.id === id);

/** The template `id` (validated scenes only name known ones; the default otherwise). */
export const templateById = (id: string): Template => TEMPLATES.find((t) => t.id === id) ?? TEMPLATES[0]!;
