/** The editor app at `/`: the start screen, or a room when the URL carries `?room=…#token=…`. */
import { byId, h } from '../lib/dom.js';
import { initLang, lang, setLang, type Lang } from '../lib/i18n.js';
import { parseEditorLocation } from '../lib/links.js';
import { openRoom } from './room.js';
import { showStart } from './start.js';

function languageSwitch(): HTMLElement {
  const select = h(
    'select',
    { id: 'lang', aria: 'language' },
    h('option', { text: 'English', attrs: { value: 'en', lang: 'en' } }),
    h('option', { text: '中文', attrs: { value: 'zh', lang: 'zh-CN' } }),
  );
  select.value = lang();
  select.addEventListener('change', () => setLang(select.value as Lang));
  return h('div', { class: 'lang' }, h('label', { class: 'visually-hidden', t: 'language', attrs: { for: 'lang' } }), select);
}

initLang();
const app = byId('app');
const toolbar = byId('toolbar');
byId('topbar').append(languageSwitch());
const link = parseEditorLocation(location);
if (link) openRoom(app, toolbar, link);
else showStart(app);
// A pasted link that only changes the fragment opens that room.
window.addEventListener('hashchange', () => {
  if (parseEditorLocation(location)) location.reload();
});
