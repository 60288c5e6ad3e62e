import { createOnboarding, type BundleData, type OnboardingResult, type OnboardingState } from 'attune/onboarding';
import { h, icon } from '../dom';
import { type Catalog, type Manifest, posterHues, splitTitle, topicHue } from '../catalog';

export interface OnboardingOptions {
  /** manifest.json and catalog.json as plain JSON. */
  data: BundleData;
  manifest: Manifest;
  catalog: Catalog;
  /** Picks to start from (editing); editing asks for genres only. */
  initial?: string[];
  /** Returning users editing their picks can go back without changing anything. */
  onCancel?: () => void;
  onDone: (result: OnboardingResult) => void;
}

/**
 * The cold-start screens over the package's headless flow (`attune/onboarding`, no
 * wasm): pick genres, then optionally mark a few of their best-known titles as
 * favourites. Paints from manifest.json and catalog.json while the engine loads.
 */
export function onboardingView(opts: OnboardingOptions): HTMLElement {
  const { manifest, catalog } = opts;
  const editing = opts.initial !== undefined;
  const flow = createOnboarding(opts.data, { itemsPerTopic: editing ? 0 : 3, maxItems: 9 });
  for (const t of opts.initial ?? []) flow.toggleTopic(t);
  void flow.done.then(opts.onDone);

  const root = h('section', { class: 'onboarding', 'aria-labelledby': 'onboarding-title' });
  let shownStep: string | null = null;
  // Titles already shown for an earlier genre are skipped: Star Wars is the first
  // example of four genres and would say little about three of them.
  const examples = exampleTitles(manifest, catalog);

  const render = (s: OnboardingState) => {
    if (s.step === 'done') return;
    const stepChanged = s.step !== shownStep;
    shownStep = s.step;
    const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.key;
    root.replaceChildren(...(s.step === 'topics' ? topicsStep(s) : itemsStep(s)));
    if (stepChanged) {
      window.scrollTo(0, 0);
      root.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
    } else if (focusedKey) {
      root.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus({ preventScroll: true });
    }
  };

  const topicsStep = (s: OnboardingState): Node[] => {
    const n = s.progress.picked;
    const tiles = s.topics.map((t) => {
      const index = manifest.topics.findIndex((x) => x.id === t.id);
      const tile = h(
        'button',
        {
          class: 'topic-tile',
          type: 'button',
          'aria-pressed': String(t.picked),
          dataset: { topic: t.id, key: `topic:${t.id}` },
          onclick: () => flow.toggleTopic(t.id),
        },
        h('span', { class: 'topic-check' }, icon('check', 14)),
        h('span', { class: 'topic-label' }, t.label),
        examples.get(t.id) ? h('span', { class: 'topic-examples' }, examples.get(t.id)) : null,
      );
      tile.style.setProperty('--hue', String(topicHue(index)));
      return tile;
    });
    return [
      intro(
        editing ? 'Your genres' : 'Personal from the first screen',
        editing ? 'Change your genres' : 'What do you like to watch?',
        editing
          ? 'Your feed is re-ranked for the genres you pick. Your likes stay.'
          : 'Pick a few genres and your feed is ready — no account, no sign-up. What you choose stays in this browser; the model runs right here on your device.',
      ),
      h('div', { class: 'topic-grid', role: 'group', 'aria-label': 'Genres' }, tiles),
      bar(
        n === 0 ? `Pick a few — ${s.progress.suggested} is ideal` : `${n} picked`,
        opts.onCancel ? h('button', { class: 'btn btn-ghost', type: 'button', onclick: opts.onCancel }, 'Cancel') : null,
        h(
          'button',
          { class: 'btn btn-primary btn-lg', type: 'button', disabled: !s.progress.canContinue, dataset: { key: 'next' }, onclick: () => flow.next() },
          // Every genre of a bundle has representative titles, so a second step follows.
          editing ? 'Update my feed' : 'Next',
        ),
      ),
    ];
  };

  const itemsStep = (s: OnboardingState): Node[] => {
    const liked = s.items.filter((i) => i.liked).length;
    const tiles = s.items.map((it) => {
      const meta = catalog.item(it.id);
      const { title, year } = meta ?? splitTitle(it.title);
      const [h1, h2] = posterHues(it.id, (meta?.topics ?? []).map((t) => manifest.topics.findIndex((x) => x.id === t)));
      const tile = h(
        'button',
        {
          class: 'seed-tile',
          type: 'button',
          'aria-pressed': String(it.liked),
          dataset: { key: `item:${it.id}` },
          onclick: () => flow.toggleItem(it.id),
        },
        h('span', { class: 'seed-title' }, title),
        h('span', { class: 'seed-year' }, year),
        h('span', { class: 'seed-heart' }, icon('heart', 16)),
      );
      tile.style.setProperty('--h1', String(h1));
      tile.style.setProperty('--h2', String(h2));
      return tile;
    });
    return [
      intro(
        `Step ${s.progress.step} of ${s.progress.steps} · optional`,
        'Any favourites here?',
        'Tap the ones you loved and the feed starts from them. Not seen any? Skip — your genres are enough.',
      ),
      h('div', { class: 'seed-grid', role: 'group', 'aria-label': 'Favourite titles' }, tiles),
      bar(
        liked === 0 ? 'None selected' : `${liked} favourite${liked === 1 ? '' : 's'}`,
        h('button', { class: 'btn btn-ghost', type: 'button', dataset: { key: 'back' }, onclick: () => flow.back() }, 'Back'),
        liked === 0
          ? h('button', { class: 'btn btn-primary btn-lg', type: 'button', dataset: { key: 'skip' }, onclick: () => flow.finish() }, 'Skip')
          : h('button', { class: 'btn btn-primary btn-lg', type: 'button', dataset: { key: 'finish' }, onclick: () => flow.finish() }, 'Show my feed'),
      ),
    ];
  };

  flow.subscribe(render);
  return root;
}

function intro(eyebrow: string, title: string, lede: string): HTMLElement {
  return h(
    'div',
    { class: 'onboarding-intro' },
    h('p', { class: 'eyebrow' }, icon('sparkle', 14), ` ${eyebrow}`),
    h('h1', { id: 'onboarding-title', tabindex: '-1' }, title),
    h('p', { class: 'lede' }, lede),
  );
}

function bar(status: string, ...actions: (HTMLElement | null)[]): HTMLElement {
  return h(
    'div',
    { class: 'onboarding-bar' },
    h(
      'div',
      { class: 'onboarding-bar-inner' },
      h('span', { class: 'pick-count', 'aria-live': 'polite' }, status),
      h('div', { class: 'bar-actions' }, actions),
    ),
  );
}

function exampleTitles(manifest: Manifest, catalog: Catalog): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const t of manifest.topics) {
    const fresh = t.representative_items.filter((i) => !used.has(i));
    const chosen = (fresh.length >= 2 ? fresh : t.representative_items).slice(0, 2);
    for (const i of chosen) used.add(i);
    out.set(
      t.id,
      chosen
        .map((i) => catalog.item(i)?.title)
        .filter((x): x is string => !!x)
        .join(' · '),
    );
  }
  return out;
}
