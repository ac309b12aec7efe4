/**
 * The start screen: create a room (optionally from a template), or open a share link.
 */
import { TEMPLATES, type Template } from '../../../shared/templates.js';
import { api, ApiError } from '../lib/api.js';
import { h, uid } from '../lib/dom.js';
import { lang, onLangChange, setText } from '../lib/i18n.js';
import { editorLink, linkTarget, rememberTokens } from '../lib/links.js';

export function showStart(app: HTMLElement): void {
  // Create
  const titleId = uid('new-title');
  const title = h('input', { id: titleId, attrs: { type: 'text', maxlength: 200, autocomplete: 'off' } });
  const templateId = uid('new-template');
  const template = h('select', { id: templateId, attrs: { name: 'template' } });
  const templateHelp = h('p', { class: 'muted', id: uid('help') });
  template.setAttribute('aria-describedby', templateHelp.id);
  let templates: readonly Template[] = TEMPLATES;
  const renderTemplates = () => {
    const selected = template.value || 'none';
    template.replaceChildren(...templates.map((tpl) => h('option', { text: tpl.name[lang()], attrs: { value: tpl.id } })));
    template.value = templates.some((tpl) => tpl.id === selected) ? selected : 'none';
    templateHelp.textContent = templates.find((tpl) => tpl.id === template.value)?.description[lang()] ?? '';
  };
  template.addEventListener('change', renderTemplates);
  renderTemplates();
  api.templates().then(
    (list) => {
      templates = list.templates;
      renderTemplates();
    },
    () => {},
  );
  onLangChange(renderTemplates);

  const createError = h('p', { class: 'error', attrs: { role: 'alert' } });
  const createButton = h('button', { class: 'primary', t: 'create', attrs: { type: 'submit' } });
  const createForm = h(
    'form',
    { class: 'panel start-form', attrs: { 'aria-labelledby': 'create-heading' } },
    h('h2', { id: 'create-heading', t: 'createRoom' }),
    h('div', { class: 'field' }, h('label', { attrs: { for: titleId }, t: 'sceneTitle' }), title),
    h('div', { class: 'field' }, h('label', { attrs: { for: templateId }, t: 'template' }), template, templateHelp),
    createButton,
    createError,
  );
  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    createError.textContent = '';
    createButton.disabled = true;
    setText(createButton, 'creating');
    try {
      const name = title.value.trim();
      const created = await api.createRoom({
        ...(name ? { title: name } : {}),
        scene: { template: template.value || 'none', shots: [{ id: 'shot-1', prompt: '' }] },
      });
      rememberTokens(created.room, created.tokens);
      location.assign(editorLink(location.origin, created.room, created.tokens.editor, created.tokens));
    } catch (failure) {
      createError.textContent = failure instanceof ApiError ? failure.describe() : String(failure);
      createButton.disabled = false;
      setText(createButton, 'create');
    }
  });

  // Open a link
  const linkId = uid('link');
  const linkInput = h('input', { id: linkId, attrs: { type: 'url', autocomplete: 'off', spellcheck: 'false', required: true } });
  const openError = h('p', { class: 'error', attrs: { role: 'alert' } });
  const openForm = h(
    'form',
    { class: 'panel start-form', attrs: { 'aria-labelledby': 'open-heading' } },
    h('h2', { id: 'open-heading', t: 'openLink' }),
    h('div', { class: 'field' }, h('label', { attrs: { for: linkId }, t: 'shareLinkInput' }), linkInput),
    h('button', { t: 'open', attrs: { type: 'submit' } }),
    openError,
  );
  openForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const target = linkTarget(linkInput.value, location.origin);
    if (!target) {
      setText(openError, 'badLink');
      linkInput.setAttribute('aria-invalid', 'true');
      return;
    }
    // When only the fragment differs, main.ts reloads on hashchange.
    location.assign(target);
  });

  app.replaceChildren(
    h('div', { class: 'start' }, h('h1', { t: 'startTitle' }), h('p', { class: 'intro', t: 'startIntro' }), h('div', { class: 'start-forms' }, createForm, openForm)),
  );
}
