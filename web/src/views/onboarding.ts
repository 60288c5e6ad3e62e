import { h, icon } from '../dom';
import { type Catalog, type Manifest, topicHue } from '../catalog';

export interface OnboardingOptions {
  manifest: Manifest;
  catalog: Catalog | null;
  initial: string[];
  /** Returning users editing their picks can go back without changing anything. */
  onCancel?: () => void;
  onDone: (picked: string[]) => void;
}

/** The cold-start screen: pick a few genres. Built from manifest.json alone (titles join
 *  in when catalog.json is there), so it needs no wasm. */
export function onboardingView(opts: OnboardingOptions): HTMLElement {
  const { manifest } = opts;
  const suggested = manifest.onboarding?.suggested_picks ?? 3;
  const ids = manifest.onboarding?.topics ?? manifest.topics.map((t) => t.id);
  const picked = new Set(opts.initial);

  const count = h('span', { class: 'pick-count', 'aria-live': 'polite' });
  const done = h('button', { class: 'btn btn-primary btn-lg', type: 'button', onclick: () => opts.onDone([...picked]) }, 'Show my feed');

  const update = () => {
    const n = picked.size;
    count.textContent = n === 0 ? `Pick at least one — ${suggested} works well` : `${n} picked`;
    done.disabled = n === 0;
  };

  // Titles already shown for an earlier genre are skipped: Star Wars is the first
  // example of four genres and would say little about three of them.
  const used = new Set<string>();
  const tiles = ids.map((id) => {
    const index = manifest.topics.findIndex((t) => t.id === id);
    const topic = manifest.topics[index];
    if (!topic) return null;
    const examples = opts.catalog ? exampleTitles(topic.representative_items, opts.catalog, used) : '';
    const tile = h(
      'button',
      {
        class: 'topic-tile',
        type: 'button',
        'aria-pressed': String(picked.has(id)),
        dataset: { topic: id },
        onclick: () => {
          if (picked.has(id)) picked.delete(id);
          else picked.add(id);
          tile.setAttribute('aria-pressed', String(picked.has(id)));
          update();
        },
      },
      h('span', { class: 'topic-check' }, icon('check', 14)),
      h('span', { class: 'topic-label' }, topic.label),
      examples ? h('span', { class: 'topic-examples' }, examples) : null,
    );
    tile.style.setProperty('--hue', String(topicHue(index, manifest.topics.length)));
    return tile;
  });

  update();
  return h(
    'section',
    { class: 'onboarding', 'aria-labelledby': 'onboarding-title' },
    h(
      'div',
      { class: 'onboarding-intro' },
      h('p', { class: 'eyebrow' }, icon('sparkle', 14), ' Personal from the first screen'),
      h('h1', { id: 'onboarding-title' }, 'What do you like to watch?'),
      h(
        'p',
        { class: 'lede' },
        `Pick a few genres and your feed is ready — no account, no sign-up. Everything you choose stays in this browser; the model runs right here on your device.`,
      ),
    ),
    h('div', { class: 'topic-grid', role: 'group', 'aria-label': 'Genres' }, tiles),
    h(
      'div',
      { class: 'onboarding-bar' },
      h('div', { class: 'onboarding-bar-inner' }, count, h('div', { class: 'bar-actions' },
        opts.onCancel ? h('button', { class: 'btn btn-ghost', type: 'button', onclick: opts.onCancel }, 'Cancel') : null,
        done,
      )),
    ),
  );
}

function exampleTitles(items: string[], catalog: Catalog, used: Set<string>): string {
  const fresh = items.filter((i) => !used.has(i));
  const chosen = (fresh.length >= 2 ? fresh : items).slice(0, 2);
  for (const i of chosen) used.add(i);
  return chosen
    .map((i) => catalog.item(i)?.title)
    .filter((t): t is string => !!t)
    .join(' · ');
}
