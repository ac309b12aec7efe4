/**
 * The content policy's word lists. Written as people read them; the matchers fold every entry
 * with the same normalisation as the text (so an entry may be written in traditional
 * characters or with capitals) and build their indexes once at module load.
 *
 * The policy covers what a generated video must not show: violence, gore, sexual content,
 * extremist symbols and figures, self-harm. Swearing, weapons, war, death, explosions and horror
 * are not in it: they are everyday film words ("a photo shoot", "the light dies", "a firework
 * explosion", "恐怖片").
 */
export type Category = 'violence' | 'gore' | 'sexual' | 'extremism' | 'self-harm';

export const CATEGORY_NAMES: Readonly<Record<Category, { en: string; zh: string }>> = {
  violence: { en: 'violence', zh: '暴力' },
  gore: { en: 'gore', zh: '血腥' },
  sexual: { en: 'sexual content', zh: '色情' },
  extremism: { en: 'extremism', zh: '极端主义' },
  'self-harm': { en: 'self-harm', zh: '自杀自残' },
};

/** The regular inflections: plural or third person, past, present participle (and -ings), agent noun (and -ers). */
export type Inflection = 's' | 'ed' | 'ing' | 'er';

export interface EnglishEntry {
  /** A word or a phrase of words; the term a refusal names. */
  stem: string;
  category: Category;
  /** Regular forms made by rule (english.ts); on a phrase they inflect its last word. */
  inflect: readonly Inflection[];
  /** Irregular and derived forms, and compounds, matched as whole words too. */
  also: readonly string[];
}

const en = (category: Category) => (stem: string, inflect = '', also = ''): EnglishEntry => ({
  stem,
  category,
  inflect: inflect.split(' ').filter(Boolean) as Inflection[],
  also: also.split(',').map((s) => s.trim()).filter(Boolean),
});
const violence = en('violence');
const gore = en('gore');
const sexual = en('sexual');
const extremism = en('extremism');
const selfHarm = en('self-harm');

/**
 * English entries match whole words of the normalised text, never inside a word: "kill" is not
 * in skill, "sex" not in Sussex, Essex or sextant, "rape" not in grape or rapeseed, "rapist" not
 * in therapist, "blood" not in bloodhound (a form exists only if a rule or `also` makes it, and
 * none makes a compound). A stem is left out when its everyday meaning is harmless: "assassin"
 * (Assassin's Creed; the act, assassinate, is in), "terror" (horror films), "shoot" and
 * "shooting" (filming; "mass shooting" is in), "lynch" (David Lynch; the forms of the act are in),
 * "execute", "gun", "strip".
 */
export const ENGLISH: readonly EnglishEntry[] = [
  violence('kill', 's ed ing er'),
  violence('murder', 's ed ing er', 'murderous, murderess'),
  violence('slaughter', 's ed ing er', 'slaughterhouse, slaughterhouses'),
  violence('massacre', 's ed ing'),
  violence('behead', 's ed ing'),
  violence('decapitate', 's ed ing', 'decapitation, decapitations'),
  violence('dismember', 's ed ing', 'dismemberment'),
  violence('mutilate', 's ed ing', 'mutilation, mutilations'),
  violence('disembowel', 's ed ing', 'disembowelled, disembowelling, disembowelment'),
  violence('torture', 's ed ing er', 'torturous'),
  violence('stab', 's ed ing'),
  violence('strangle', 's ed ing er', 'strangulation'),
  violence('assassinate', 's ed ing', 'assassination, assassinations'),
  violence('homicide', 's', 'homicidal'),
  violence('genocide', 's', 'genocidal'),
  violence('bomb', 's ed ing er'),
  violence('lynching', 's', 'lynched'),
  violence('lynch mob', 's'),
  violence('mass shooting', 's'),
  violence('school shooting', 's'),
  violence('carnage'),
  // Slang made up to get past filters like this one.
  violence('unalive', 's ed ing'),
  gore('gore', 's ed ing', 'gory, gorier, goriest, gorefest'),
  // "bloody" as a British swear word goes too: the policy cannot tell it from the picture.
  gore('blood', '', 'bloody, bloodied, bloodier, bloodiest, bloodbath, bloodbaths, bloodshed, bloodstained, bloodsoaked, bloodsplatter'),
  gore('corpse', 's'),
  gore('dead body', '', 'dead bodies'),
  sexual('nude', 's', 'nudity, nudist, nudists, nudism'),
  sexual('naked', '', 'nakedness'),
  sexual('nsfw'),
  sexual('porn', 's', 'porno, pornos, pornography, pornographic, pornstar, pornstars'),
  // "sexy" is in: in a prompt for generated video it asks for sexualised pictures far more often
  // than it describes a car. "sexuality" (an identity, a school subject) is not.
  sexual('sex', 's', 'sexual, sexually, sexy, sexier, sexiest, sext, sexting, seggs, seggsy'),
  sexual('erotic', '', 'erotica'),
  sexual('hentai'),
  sexual('topless'),
  sexual('orgy', '', 'orgies'),
  sexual('orgasm', 's'),
  sexual('genitals', '', 'genitalia'),
  sexual('penis', 's'),
  sexual('vagina', 's'),
  sexual('boob', 's'),
  sexual('bdsm'),
  sexual('blowjob', 's'),
  sexual('blow job', 's'),
  sexual('striptease', 's'),
  sexual('rape', 's ed ing', 'rapist, rapists'),
  sexual('molest', 's ed ing er', 'molestation'),
  extremism('nazi', 's', 'nazism, neonazi, neonazis'),
  extremism('hitler'),
  extremism('swastika', 's'),
  extremism('terrorist', 's', 'terrorism'),
  extremism('jihadist', 's'),
  extremism('kkk'),
  extremism('ku klux klan'),
  extremism('white supremacist', 's', 'white supremacy'),
  selfHarm('suicide', 's', 'suicidal'),
  selfHarm('self harm', '', 'selfharm'),
];

/**
 * Harmless English phrases that contain a blocked word, read as the Chinese ones are (the longest
 * phrase starting at a word wins, and an allowed one is skipped whole): a blocked word inside one
 * of these is not a match; the same word elsewhere in the text still is ("a killer whale kills a
 * seal" is refused for "kills"). "killer whale" is allowed: it is the orca, nature footage (and
 * so is 杀人鲸 in Chinese).
 */
export const ENGLISH_ALLOWED: readonly string[] = [
  'killer whale', 'killer whales', 'kill time', 'killing time',
  'murder of crows',
  'bath bomb', 'bath bombs', 'bomber jacket', 'bomber jackets',
  'blood orange', 'blood oranges', 'blood moon', 'blood red', 'blood type', 'blood cells', 'blood pressure',
  'bloody mary',
  'al gore',
  'naked eye', 'naked mole rat', 'naked mole rats',
  'oilseed rape',
];

export interface ChineseEntry {
  term: string;
  category: Category;
}

const zh = (category: Category, terms: string): ChineseEntry[] =>
  terms.split(/\s+/).filter(Boolean).map((term) => ({ term, category }));

/**
 * Chinese terms match anywhere in the normalised (simplified) text: Chinese has no spaces to
 * mark words. The longer terms are there so that a refusal names what was meant (杀人 rather
 * than 杀). Single characters are risky: only 杀 is listed alone, because its harmless uses
 * are a closed set of compounds (CHINESE_ALLOWED) while its violent uses are open-ended (杀了,
 * 杀掉, 把他杀, 杀光…). 血, 裸, 尸, 炸, 黄 are not listed alone (热血, 血压, 裸色, 僵尸, 炸鸡,
 * 黄色). 打死, 淹死 and 上吊 are left out: 打死蚊子, "打死也不说", 天花板上吊着一盏灯.
 */
export const CHINESE: readonly ChineseEntry[] = [
  ...zh('violence', `
    杀 杀人 杀死 杀害 杀掉 杀手 杀戮 谋杀 屠杀 残杀 凶杀 刺杀 枪杀 砍杀 暗杀 虐杀
    砍死 刺死 捅死 勒死 掐死 枪毙 斩首 砍头 断头 酷刑 虐待 爆头 屠城 凌迟 肢解 分尸 碎尸
    炸弹 人肉炸弹 种族灭绝`),
  ...zh('gore', `
    血腥 流血 鲜血 血泊 血淋淋 血肉模糊 血流成河 血迹斑斑 尸体 尸首 死尸 浮尸 尸块 断肢 残肢 开膛破肚`),
  ...zh('sexual', `
    裸体 裸露 裸照 全裸 半裸 赤裸 一丝不挂 色情 情色 淫秽 黄片 成人视频 成人电影 av女优
    性交 做爱 性爱 性行为 口交 强奸 强暴 轮奸 露点 乳头 阴茎 阴道 性感`),
  ...zh('extremism', `
    纳粹 希特勒 恐怖分子 恐怖份子 恐怖袭击 恐袭 恐怖主义 三k党`),
  ...zh('self-harm', `
    自杀 自残 割腕 跳楼 轻生`),
];

/**
 * Harmless Chinese words that contain a blocked term. The text is read left to right taking the
 * longest listed phrase that starts at each place, as a word segmenter would: an allowed phrase
 * is skipped whole, and a blocked term that starts inside it is no match. So 他杀青了 and
 * 剧本杀人物 (the characters of a murder-mystery game) pass, while 自杀青年 is refused (自杀 starts
 * before 杀青 does). The price: gaming slang 秒杀 ("one-shot") passes as the flash sale. Decisions:
 * - 自杀式 is NOT allowed: 自杀式袭击 / 自杀式爆炸 (a suicide attack) is its everyday use.
 * - 炸弹糖 is NOT allowed: no common harmless sense we are sure of; 沐浴炸弹 / 泡澡炸弹 (bath bombs)
 *   are, as in English.
 * - Games and idioms are allowed: 狼人杀, 三国杀, 剧本杀, 杀人游戏 (party and card games),
 *   杀鸡儆猴, 杀鸡取卵, 杀出重围, 杀回马枪; so are sport and trade words: 杀球 (a smash), 绝杀
 *   (a winning shot), 双杀 (a double play), 杀进 / 杀入 (决赛), 秒杀 (a flash sale), 杀价,
 *   追涨杀跌, 通杀.
 * - 扼杀 and 抹杀 (to stifle, to obliterate) are figurative almost always: allowed.
 * - 杀人鲸 (the killer whale, an orca) is allowed, as "killer whale" is.
 * - 裸露 is kept, with the landscape and wiring phrases where it means "exposed" allowed.
 * - 僵尸体 / 丧尸体 (a zombie's body: 僵尸体型巨大) are allowed: read as 僵尸 + 体, not 尸体.
 */
export const CHINESE_ALLOWED: readonly string[] = `
  杀青 杀毒 消杀 杀菌 杀虫 杀价 秒杀 抹杀 扼杀 封杀 杀手锏 杀手级 必杀技 杀球 绝杀 双杀
  杀进 杀入 杀出重围 杀回马枪 杀时间 杀风景 追涨杀跌 杀跌 通杀 杀鸡儆猴 杀鸡取卵
  狼人杀 三国杀 剧本杀 杀人游戏 杀马特 杀人鲸
  断头路 跳楼价 跳楼甩卖 跳楼大甩卖 跳楼机 赤裸裸 沐浴炸弹 泡澡炸弹 僵尸体 丧尸体
  裸露的岩石 岩石裸露 裸露岩石 裸露的地面 地面裸露 裸露的地表 地表裸露 裸露的土壤 土壤裸露
  裸露的电线 电线裸露 裸露的树根 树根裸露 裸露的砖墙
`.split(/\s+/).filter(Boolean);
