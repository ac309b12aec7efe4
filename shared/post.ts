/**
 * Post-production vocabulary shared by server, client and CLI (DESIGN.md, "Post-production"):
 * transitions, caption modes, loudness targets, the bundled music beds and the narration voices.
 * No media code here: only names and limits.
 */
export const TRANSITIONS = ['cut', 'crossfade', 'fade-black', 'slide-left', 'slide-right'] as const;
export type TransitionType = (typeof TRANSITIONS)[number];

/** Transitions that overlap the two shots by their duration (the video gets that much shorter). */
export const OVERLAPPING: readonly TransitionType[] = ['crossfade', 'slide-left', 'slide-right'];

export const CAPTION_MODES = ['burn', 'soft', 'both', 'off'] as const;
export type CaptionMode = (typeof CAPTION_MODES)[number];

/** Integrated loudness targets (LUFS): streaming (−14), podcasts and web video (−16), EBU R128 broadcast (−23). */
export const LOUDNESS_TARGETS = [-14, -16, -23] as const;
export type LoudnessTarget = (typeof LOUDNESS_TARGETS)[number];

export const POST_LIMITS = { captionChars: 200, narrationChars: 500, maxTransition: 2 } as const;

/** Music beds made by the project (synthesised; no recording is downloaded or shipped). */
export const MUSIC_BEDS = [
  { id: 'calm', name: { en: 'Calm pad', zh: '宁静铺底' } },
  { id: 'bright', name: { en: 'Bright arpeggio', zh: '明快琶音' } },
  { id: 'pulse', name: { en: 'Soft pulse', zh: '轻柔律动' } },
] as const;
export type MusicBedId = (typeof MUSIC_BEDS)[number]['id'];

/** An uploaded audio file of the room (POST /api/rooms/:room/assets). */
export const ASSET_ID_PATTERN = /^asset-[a-z0-9]{12}$/;

/** Narration voices (offline text to speech): the language each speaks. */
export const VOICES = [
  { id: 'en-us', lang: 'en', name: { en: 'English (US)', zh: '英语（美国）' } },
  { id: 'en-gb', lang: 'en', name: { en: 'English (UK)', zh: '英语（英国）' } },
  { id: 'en-us+f3', lang: 'en', name: { en: 'English (US), higher', zh: '英语（美国，高音）' } },
  { id: 'cmn', lang: 'zh', name: { en: 'Mandarin', zh: '普通话' } },
  { id: 'cmn+f3', lang: 'zh', name: { en: 'Mandarin, higher', zh: '普通话（高音）' } },
] as const;
export type VoiceId = (typeof VOICES)[number]['id'];
export const DEFAULT_VOICES = { en: 'en-us', zh: 'cmn' } as const satisfies Record<'en' | 'zh', VoiceId>;

export const POST_DEFAULTS = { captions: 'both', music: 'none', musicVolume: 0.35, duck: true, loudness: -14 } as const satisfies {
  captions: CaptionMode;
  music: string;
  musicVolume: number;
  duck: boolean;
  loudness: LoudnessTarget;
};

/** Whether text is mostly Chinese (for the narration voice, caption wrapping and a refusal's language). */
export const isMostlyChinese = (text: string): boolean => {
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latin = text.match(/\p{Script=Latin}/gu)?.length ?? 0;
  return han > 0 && han >= latin / 2;
};
