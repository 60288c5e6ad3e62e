import { h, icon } from '../dom';
import { type Catalog, posterHues } from '../catalog';
import { type RankedItem, type Reason, reasonSentence } from '../engine';

/** One reason's sentence: the engine's words, with the catalog's display title for a
 *  history item. Sentence case is the stylesheet's (`.reason-text::first-letter`). */
export function reasonText(r: Reason, catalog: Catalog): string {
  return reasonSentence(r, r.kind === 'history' ? catalog.item(r.item)?.title : undefined);
}

/** What each reason kind means, for the disclosure's small print. */
const REASON_DETAIL: Record<string, string> = {
  history: 'Leaving that title out of your history lowers this score the most.',
  picked_topic: 'The model was given this genre as one of your picks.',
  boosted_topic: 'You asked for more of this genre in Tune.',
  frequent_topic: 'A large share of your history is this genre.',
  popular: 'In the top 1% for someone the model knows nothing about.',
  exploration: 'A slot kept for genres outside your usual ones.',
};

export interface CardOptions {
  item: RankedItem;
  catalog: Catalog;
  picked: Set<string>;
  isNew: boolean;
  onLike: (item: RankedItem) => void;
  onDislike: (item: RankedItem) => void;
}

export function cardView(o: CardOptions): HTMLElement {
  const { item, catalog } = o;
  const meta = catalog.item(item.id);
  const title = meta?.title ?? item.title;
  const year = meta?.year ?? '';
  const topics = meta?.topics ?? [];
  const titleId = `title-${item.id}`;
  const [h1, h2] = posterHues(item.id, topics.map((t) => catalog.topics.findIndex((x) => x.id === t)));

  // No artwork in the catalog: a poster drawn from the title's genres carries the title.
  const poster = h(
    'div',
    { class: 'poster' },
    h(
      'div',
      { class: 'poster-top' },
      h('span', { class: 'poster-rank', 'aria-label': `Rank ${item.rank}` }, String(item.rank)),
      o.isNew ? h('span', { class: 'badge-new' }, 'New for you') : null,
    ),
    h('span', { class: 'poster-mark', 'aria-hidden': 'true' }, initial(title)),
    h('h3', { class: 'poster-title', id: titleId }, title),
    year ? h('span', { class: 'poster-year' }, year) : null,
  );
  poster.style.setProperty('--h1', String(h1));
  poster.style.setProperty('--h2', String(h2));

  const reasons = item.reasons.length ? item.reasons : [];
  const headline = reasons[0];

  const why = h(
    'details',
    { class: 'why' },
    h('summary', {}, icon('info', 16), h('span', {}, 'Why this?')),
    h(
      'div',
      { class: 'why-body' },
      reasons.length
        ? h(
            'ul',
            { class: 'reason-list' },
            reasons.map((r) =>
              h(
                'li',
                { class: `reason reason-${r.kind}` },
                h('span', { class: 'reason-text' }, reasonText(r, catalog)),
                REASON_DETAIL[r.kind] ? h('span', { class: 'reason-detail' }, REASON_DETAIL[r.kind]) : null,
              ),
            ),
          )
        : h('p', { class: 'reason-none' }, 'The model ranks it highly for your profile as a whole.'),
      h(
        'p',
        { class: 'why-score' },
        `Rank ${item.rank} · score ${item.score.toFixed(3)} · model ${item.model_score.toFixed(2)}`,
      ),
    ),
  );

  const like = h(
    'button',
    {
      class: 'btn btn-action',
      type: 'button',
      'aria-label': `Like ${title}`,
      onclick: () => o.onLike(item),
    },
    icon('heart', 16),
    h('span', {}, 'Like'),
  );
  const dislike = h(
    'button',
    { class: 'btn btn-action', type: 'button', 'aria-label': `Not for me: ${title}`, onclick: () => o.onDislike(item) },
    icon('thumbsDown', 16),
    h('span', {}, 'Not for me'),
  );

  return h(
    'article',
    { class: `card${o.isNew ? ' card-new' : ''}`, 'aria-labelledby': titleId, dataset: { item: item.id } },
    poster,
    h(
      'div',
      { class: 'card-body' },
      h(
        'ul',
        { class: 'chips', 'aria-label': 'Genres' },
        topics.map((t) => h('li', { class: `chip${o.picked.has(t) ? ' chip-picked' : ''}` }, catalog.label(t))),
      ),
      headline
        ? h('p', { class: 'headline-reason' }, icon('sparkle', 14), h('span', { class: 'sentence' }, reasonText(headline, catalog)))
        : null,
      why,
      h('div', { class: 'card-actions' }, like, dislike),
    ),
  );
}

export function skeletonCards(n: number): HTMLElement[] {
  return Array.from({ length: n }, () =>
    h(
      'div',
      { class: 'card card-skeleton', 'aria-hidden': 'true' },
      h('div', { class: 'poster' }),
      h('div', { class: 'card-body' }, h('div', { class: 'sk sk-title' }), h('div', { class: 'sk sk-line' }), h('div', { class: 'sk sk-line short' })),
    ),
  );
}

/** The first letter or digit of a title, for the poster's large backdrop glyph. */
function initial(title: string): string {
  const m = /[\p{L}\p{N}]/u.exec(title.replace(/^(The|A|An) /, ''));
  return m ? m[0].toUpperCase() : '';
}
