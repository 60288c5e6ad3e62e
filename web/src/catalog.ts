/** Display helpers over the bundle's own JSON (manifest.json and catalog.json): they need
 *  no wasm, so the onboarding screen can paint before the engine is ready. */

import type { Catalog as CatalogJson, Manifest, Topic } from 'attune';

export type { Manifest, Topic };

export interface Item {
  id: string;
  title: string;
  year: string;
  topics: string[];
}

/** The catalog by app id, with MovieLens' "Rock, The (1996)" shown as "The Rock". */
export class Catalog {
  readonly topics: Topic[];
  readonly topicById = new Map<string, Topic>();
  private readonly items = new Map<string, Item>();

  constructor(manifest: Manifest, catalog: CatalogJson) {
    this.topics = manifest.topics;
    for (const t of manifest.topics) this.topicById.set(t.id, t);
    catalog.ids.forEach((id, i) => {
      const { title, year } = splitTitle(catalog.titles[i] ?? id);
      const topics = (catalog.topics[i] ?? []).map((t) => manifest.topics[t]?.id).filter((t): t is string => !!t);
      this.items.set(id, { id, title, year, topics });
    });
  }

  item(id: string): Item | undefined {
    return this.items.get(id);
  }

  label(topic: string): string {
    return this.topicById.get(topic)?.label ?? topic;
  }
}

const ARTICLES = ['The', 'A', 'An', 'Il', 'La', 'Le', 'Les', "L'", 'Das', 'Der', 'Die', 'El'];

export function splitTitle(raw: string): { title: string; year: string } {
  let title = raw.trim();
  let year = '';
  const m = /\s*\((\d{4})\)\s*$/.exec(title);
  if (m) {
    year = m[1];
    title = title.slice(0, m.index);
  }
  // "Rock, The" → "The Rock"; "City of Lost Children, The (Cité …)" keeps its alias.
  const alias = /^(.*?)(\s*\(.*\))?$/.exec(title);
  if (alias) {
    const [, main, rest = ''] = alias;
    for (const a of ARTICLES) {
      const suffix = `, ${a}`;
      if (main.endsWith(suffix)) {
        const sep = a.endsWith("'") ? '' : ' ';
        title = `${a}${sep}${main.slice(0, -suffix.length)}${rest}`;
        break;
      }
    }
  }
  return { title, year };
}

/** Hues for topic accents, by position in the manifest: hand-picked so neighbours
 *  differ and none lands on the muddy yellow-greens; more topics wrap around. */
const HUES = [4, 22, 48, 95, 200, 228, 160, 262, 285, 210, 340, 312, 245, 330, 188, 275, 352, 30];

export function topicHue(topicIndex: number): number {
  return HUES[((topicIndex % HUES.length) + HUES.length) % HUES.length];
}

/** A poster's two hues: the item's most specific genre (the last in manifest order;
 *  Action and Drama come first and say the least) and its first, nudged by the id so
 *  that neighbours with the same genres still look different. */
export function posterHues(id: string, topicIndices: number[]): [number, number] {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const jitter = (hash % 71) - 35;
  const last = topicIndices[topicIndices.length - 1] ?? hash % HUES.length;
  const first = topicIndices.length > 1 ? topicIndices[0] : last + 5;
  return [(topicHue(last) + jitter + 360) % 360, (topicHue(first) - jitter + 360) % 360];
}
