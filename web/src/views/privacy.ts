import { h, icon } from '../dom';
import type { Catalog } from '../catalog';
import type { ProfileData } from '../engine';

export interface PrivacyOptions {
  catalog: Catalog;
  data: ProfileData;
  exportText: string;
  onDelete: () => Promise<void>;
}

/** "Your data": what is stored, where, what the page downloads, and export/delete. */
export function privacyDialog(o: PrivacyOptions): HTMLDialogElement {
  const { data } = o;
  const counts = new Map<string, number>();
  for (const e of data.events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const eventSummary = data.events.length
    ? [...counts].map(([t, n]) => `${n} ${t}${n === 1 ? '' : 's'}`).join(', ')
    : 'none yet';
  const picks = data.onboarding.picked_topics.map((t) => o.catalog.label(t)).join(', ') || 'none';
  const liked = data.events
    .filter((e) => e.type === 'like')
    .map((e) => o.catalog.item(e.item)?.title ?? e.item)
    .join(', ') || 'none yet';
  const passed = data.controls.less_like_this.map((i) => o.catalog.item(i)?.title ?? i).join(', ') || 'none';
  const muted = data.controls.muted_topics.map((t) => o.catalog.label(t)).join(', ') || 'none';

  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'privacy-title' });
  const close = () => dialog.close();

  const download = () => {
    const blob = new Blob([o.exportText], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: 'attune-profile.json' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const confirmRow = h(
    'div',
    { class: 'confirm', hidden: true, role: 'alert' },
    h('p', {}, 'Delete your genres, likes, settings and history from this browser? This cannot be undone.'),
    h(
      'div',
      { class: 'panel-row' },
      h('button', { class: 'btn btn-ghost', type: 'button', onclick: () => (confirmRow.hidden = true) }, 'Keep my data'),
      h(
        'button',
        {
          class: 'btn btn-danger',
          type: 'button',
          onclick: async (e: Event) => {
            (e.currentTarget as HTMLButtonElement).disabled = true;
            await o.onDelete();
            close();
          },
        },
        'Yes, delete everything',
      ),
    ),
  );

  dialog.append(
    h(
      'div',
      { class: 'dialog-head' },
      h('h2', { id: 'privacy-title' }, icon('shield', 20), 'Your data'),
      h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close', onclick: close }, icon('close', 20)),
    ),
    h(
      'div',
      { class: 'dialog-body' },
      h(
        'ul',
        { class: 'facts' },
        h('li', {}, h('strong', {}, 'Stays on this device. '), 'Your profile lives in this browser’s IndexedDB. Ranking runs here, in WebAssembly; nothing you do is sent anywhere.'),
        h(
          'li',
          {},
          h('strong', {}, 'No trackers, fonts or CDNs. '),
          'The page downloads only its own files: the app, the Attune engine (.wasm) and the model bundle (manifest, catalog, model). No other network requests. The bundle is cached for the next visit; it holds nothing about you.',
        ),
        h('li', {}, h('strong', {}, 'Yours to take or erase. '), 'Export everything below as JSON, or delete it for good.'),
      ),
      h(
        'dl',
        { class: 'stats stats-compact' },
        h('div', { class: 'stat' }, h('dt', {}, 'Genres you picked'), h('dd', {}, picks)),
        h('div', { class: 'stat' }, h('dt', {}, 'Titles you liked'), h('dd', {}, liked)),
        h('div', { class: 'stat' }, h('dt', {}, 'Not for me'), h('dd', {}, passed)),
        h('div', { class: 'stat' }, h('dt', {}, 'Hidden genres'), h('dd', {}, muted)),
        h('div', { class: 'stat' }, h('dt', {}, 'Events'), h('dd', { 'data-testid': 'event-summary' }, eventSummary)),
      ),
      h(
        'details',
        { class: 'raw' },
        h('summary', {}, 'See everything stored'),
        h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Stored profile (JSON)' }, o.exportText),
      ),
      h(
        'div',
        { class: 'panel-row' },
        h('button', { class: 'btn btn-secondary', type: 'button', onclick: download }, icon('download', 16), 'Export my data'),
        h(
          'button',
          { class: 'btn btn-danger-ghost', type: 'button', onclick: () => (confirmRow.hidden = false) },
          icon('trash', 16),
          'Delete my data',
        ),
      ),
      confirmRow,
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  // A click on the backdrop (outside the dialog box) closes it.
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) close();
  });
  return dialog;
}
