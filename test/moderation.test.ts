import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { moderate } from '../shared/moderation.js';

/** test/fixtures/moderation.json: hand-written prompts, labelled by what the policy means, not by what the matcher does. */
interface Case {
  text: string;
  blocked: boolean;
  lang: 'en' | 'zh';
  trick?: string;
  note?: string;
}
const FIXTURE: Case[] = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'moderation.json'), 'utf8'));
const blocked = FIXTURE.filter((c) => c.blocked);
const harmless = FIXTURE.filter((c) => !c.blocked);
const list = (cases: Case[]): string => cases.map((c) => `  ${JSON.stringify(c.text)}${c.trick ? ` [${c.trick}]` : ''}`).join('\n');
const CJK = /\p{Script=Han}/u;
/** A reason's own words: without the quoted term, and without the English that follows a Chinese reason. */
const wording = (reason: string): string => reason.replace(/“[^”]*”|"[^"]*"/g, '').split('(')[0]!;

describe('the moderation fixture', () => {
  it('has at least 200 texts, in both languages, blocked and harmless, with every trick', () => {
    expect(FIXTURE.length).toBeGreaterThanOrEqual(200);
    for (const lang of ['en', 'zh'] as const) {
      expect(blocked.filter((c) => c.lang === lang).length, `blocked ${lang}`).toBeGreaterThanOrEqual(40);
      expect(harmless.filter((c) => c.lang === lang).length, `harmless ${lang}`).toBeGreaterThanOrEqual(40);
    }
    for (const c of FIXTURE) {
      expect(typeof c.text === 'string' && c.text.length > 0 && typeof c.blocked === 'boolean' && ['en', 'zh'].includes(c.lang), JSON.stringify(c)).toBe(true);
    }
    expect(new Set(FIXTURE.map((c) => c.text)).size, 'texts are unique').toBe(FIXTURE.length);
    for (const trick of ['zero-width', 'confusable', 'traditional', 'inflection', 'spaced', 'dotted', 'leet', 'fullwidth', 'combining']) {
      expect(blocked.some((c) => c.trick === trick), `a blocked "${trick}" text`).toBe(true);
    }
    for (const trick of ['allowed-phrase', 'substring', 'numbers', 'traditional', 'spaced']) {
      expect(harmless.some((c) => c.trick === trick), `a harmless "${trick}" text`).toBe(true);
    }
  });

  it('refuses at least 95% of the blocked texts', () => {
    const missed = blocked.filter((c) => moderate(c.text).ok);
    const recall = 1 - missed.length / blocked.length;
    expect(recall, `recall ${(recall * 100).toFixed(1)}%, missed ${missed.length}/${blocked.length}:\n${list(missed)}`).toBeGreaterThanOrEqual(0.95);
  });

  it('refuses at most 2% of the harmless texts', () => {
    const refused = harmless.filter((c) => !moderate(c.text).ok);
    const rate = refused.length / harmless.length;
    expect(rate, `refused ${refused.length}/${harmless.length} harmless:\n${list(refused)}`).toBeLessThanOrEqual(0.02);
  });

  it('tells the language of every text, and words each refusal in it', () => {
    const wrong = FIXTURE.filter((c) => moderate(c.text).lang !== c.lang);
    expect(wrong, `language wrong for:\n${list(wrong)}`).toEqual([]);
    for (const c of blocked) {
      const v = moderate(c.text);
      if (v.ok) continue;
      expect(CJK.test(wording(v.reason!)), `${c.text} → ${v.reason}`).toBe(c.lang === 'zh');
    }
  });
});

describe('moderate', () => {
  const refusedFor = (text: string, term: string): void => {
    const v = moderate(text);
    expect(v.ok, JSON.stringify(text)).toBe(false);
    expect(v.term, JSON.stringify(text)).toBe(term);
  };
  const allowed = (text: string): void => {
    const v = moderate(text);
    expect(v, JSON.stringify(text)).toEqual({ ok: true, lang: v.lang });
  };

  it.each([
    ['zero-width space', 'k\u200Bill'],
    ['zero-width non-joiner', 'k\u200Cill'],
    ['zero-width joiner', 'k\u200Dill'],
    ['soft hyphen', 'k\u00ADill'],
    ['word joiner', 'k\u2060ill'],
    ['byte order mark', 'k\uFEFFill'],
    ['left-to-right mark', 'k\u200Eill'],
    ['right-to-left override', '\u202Ekill'],
    ['bidi isolate', 'k\u2066il\u2069l'],
    ['combining strike-through', 'k\u0336i\u0336l\u0336l\u0336'],
    ['accents', 'kíll'],
  ])('reads through invisible characters and marks: %s', (_name, text) => refusedFor(`a man wants to ${text} the guard`, 'kill'));

  it.each([
    ['Cyrillic і', 'kіll', 'kill'],
    ['Cyrillic а', 'nаked', 'naked'],
    ['Cyrillic ѕ е х', 'ѕех', 'sex'],
    ['Cyrillic capitals', 'NАKЕD', 'naked'],
    ['Greek κ', 'κill', 'kill'],
    ['Greek ι', 'kιll', 'kill'],
    ['Greek α and ε', 'nαkεd', 'naked'],
    ['Greek ο', 'blοοd', 'blood'],
    ['Greek τ', 'τorture', 'torture'],
    ['Greek ρ', 'ρorn', 'porn'],
    ['Greek capitals', 'ΚΙLL', 'kill'],
    ['small capitals', 'ᴋɪʟʟ', 'kill'],
    ['Latin ł', 'kiłł', 'kill'],
  ])('folds look-alike letters: %s', (_name, text, term) => refusedFor(`a scene: ${text}`, term));

  it.each([
    ['殺', '杀'],
    ['屍體', '尸体'],
    ['裸體', '裸体'],
    ['炸彈', '炸弹'],
    ['納粹', '纳粹'],
    ['自殺', '自杀'],
    ['恐怖襲擊', '恐怖袭击'],
    ['斬首', '斩首'],
  ])('reads traditional Chinese: %s', (text, term) => refusedFor(`畫面裡有${text}`, term));

  it.each([
    ...['kills', 'killed', 'killing', 'killings', 'killer', 'killers'].map((w) => [w, 'kill']),
    ...['murders', 'murdered', 'murdering', 'murderer', 'murderers', 'murderous'].map((w) => [w, 'murder']),
    ...['bombs', 'bombed', 'bombing', 'bomber'].map((w) => [w, 'bomb']),
    ...['tortured', 'tortures', 'torturing', 'torturer'].map((w) => [w, 'torture']),
    ...['beheads', 'beheaded', 'beheading'].map((w) => [w, 'behead']),
    ['stabbed', 'stab'], ['stabbing', 'stab'],
    ['suicidal', 'suicide'], ['nudes', 'nude'], ['nudity', 'nude'],
    ['porno', 'porn'], ['pornography', 'porn'], ['pornographic', 'porn'],
    ['sexual', 'sex'], ['sexy', 'sex'], ['nazis', 'nazi'],
    ['terrorists', 'terrorist'], ['terrorism', 'terrorist'],
    ['massacres', 'massacre'], ['massacred', 'massacre'], ['genocidal', 'genocide'],
    ['gory', 'gore'], ['corpses', 'corpse'], ['bloody', 'blood'], ['bloodbath', 'blood'],
    ['dead bodies', 'dead body'], ['mass shootings', 'mass shooting'],
  ])('matches word forms: %s', (form, term) => refusedFor(`a video of ${form} at night`, term));

  it.each([
    'skill', 'Essex', 'Scunthorpe', 'Sussex', 'sextant', 'therapist', 'cocktail', 'bloodhound', "Assassin's Creed",
    'grapes', 'rapeseed', 'unisex', 'killjoy', 'gorgeous', 'Bombay', 'nudibranch', 'cold-blooded lizard',
  ])('matches whole words only: %s', (word) => allowed(`a shot of ${word} at dawn`));

  it.each([
    ['k i l l', 'kill'],
    ['k.i.l.l', 'kill'],
    ['k-i-l-l', 'kill'],
    ['k_i_l_l', 'kill'],
    ['k*i*l*l', 'kill'],
    ['k . i . l . l', 'kill'],
    ['a k i l l e r', 'kill'],
    ['n a k e d', 'naked'],
    ['s.e.x', 'sex'],
    ['k 1 l l', 'kill'],
  ])('joins letters spelled out one by one: %s', (text, term) => refusedFor(`${text} in a dark room`, term));

  it.each(['the letters A B C', 'an x y z axis', 'the U.S.A. flag', 'sizes s m l', 'e.g. a cube', 'k-pop dancers', 'plan a, then b'])(
    'leaves ordinary words and initials unmerged: %s',
    (text) => allowed(text),
  );

  it.each([
    ['k1ll', 'kill'], ['murd3r', 'murder'], ['n4ked', 'naked'], ['p0rn', 'porn'], ['s3x', 'sex'], ['5uicide', 'suicide'],
    ['b100d', 'blood'], ['ki11', 'kill'], ['n@ked', 'naked'], ['$ex', 'sex'], ['k!ll', 'kill'], ['k1ll3rs', 'kill'], ['b0mb1ng', 'bomb'],
  ])('reads digits and symbols for letters: %s', (text, term) => refusedFor(`a ${text} scene`, term));

  it.each([
    '2 cubes', '10 seconds', '4k', '60fps 1080p', 'a 3d render', 'a 53x zoom', 'room 101', 'a 5s clip', 'zoom 2x', '3 stars and 1 moon',
    'a 4x4 grid', 'at 7 pm', 'sk1ll points', 'a k1tten', '$5 price tag',
  ])('leaves numbers and units alone: %s', (text) => allowed(`${text} on a grey background`));

  it.each([
    ['ｋｉｌｌ', 'kill'], ['ＫＩＬＬ', 'kill'], ['ｎａｋｅｄ', 'naked'], ['ｋ１ｌｌ', 'kill'], ['𝐤𝐢𝐥𝐥', 'kill'], ['ⓚⓘⓛⓛ', 'kill'],
  ])('folds full-width and decorated letters: %s', (text, term) => refusedFor(`${text} the guard`, term));

  it.each([
    '杀青', '电影杀青了', '杀毒软件', '殺毒軟體', '秒杀', '抹杀', '扼杀', '杀菌', '杀虫剂', '剧本杀', '狼人杀', '杀手锏', '他杀青了', '剧本杀人物', '消杀人员',
    '跳楼价', '裸露的岩石', '沐浴炸弹', '僵尸体型巨大',
  ])('allows a harmless Chinese phrase: %s', (text) => allowed(`一个关于${text}的短片`));

  it.each([
    ['自杀式袭击', '自杀'],
    ['自杀青年', '自杀'],
    ['杀青之后他杀了导演', '杀'],
    ['秒杀活动现场发生枪杀', '枪杀'],
    ['剧本杀玩家在现实中杀人', '杀人'],
    ['把他杀了', '杀'],
  ])('still refuses a blocked term next to or outside an allowed phrase: %s', (text, term) => refusedFor(text, term));

  it('allows English phrases that contain a blocked word, and only those', () => {
    allowed('a killer whale breaches');
    allowed('a blood orange and a blood moon');
    allowed('a murder of crows over a bath bomb');
    const v = moderate('a killer whale kills a seal');
    expect(v).toMatchObject({ ok: false, term: 'kill', match: 'kills' });
  });

  it('says why in the language of the text', () => {
    const en = moderate('a red ball covered in blood');
    expect(en).toMatchObject({ ok: false, lang: 'en', term: 'blood', category: 'gore' });
    expect(en.reason).toBe('"blood" is not allowed by the content policy (gore)');

    const zh = moderate('一个红色的球和血腥的场面');
    expect(zh).toMatchObject({ ok: false, lang: 'zh', term: '血腥' });
    expect(zh.reason).toMatch(/^“血腥”违反内容政策（血腥）/);
    expect(zh.reason).toContain('"血腥" is not allowed by the content policy');

    // The language is the text's, not the term's.
    const mixedZh = moderate('一个naked的女人在海滩上');
    expect(mixedZh).toMatchObject({ ok: false, lang: 'zh', term: 'naked' });
    expect(mixedZh.reason).toMatch(/^“naked”违反内容政策/);
    const mixedEn = moderate('a red cube rolls past a 尸体 on the grass');
    expect(mixedEn).toMatchObject({ ok: false, lang: 'en', term: '尸体' });
    expect(mixedEn.reason).toBe('"尸体" is not allowed by the content policy (gore)');

    expect(moderate('a red cube').lang).toBe('en');
    expect(moderate('一个红色的cube').lang).toBe('zh');
    expect(moderate('一個紅色的立方體').lang).toBe('zh');
  });

  it('names the list entry and the form it found', () => {
    expect(moderate('two k1ll3rs in a van')).toMatchObject({ ok: false, term: 'kill', match: 'killers', category: 'violence', lang: 'en' });
    expect(moderate('他殺了一個人')).toMatchObject({ ok: false, term: '杀', match: '杀', category: 'violence', lang: 'zh' });
  });

  it('is pure: the same text gets the same verdict', () => {
    for (const c of FIXTURE.slice(0, 50)) expect(moderate(c.text)).toEqual(moderate(c.text));
  });
});
