import type { Reason } from './types.js';

/** English text for a reason, as the Rust `Reason::text` writes it. Apps that
 *  translate should switch on `reason.kind` instead. */
export function reasonText(reason: Reason): string {
  switch (reason.kind) {
    case 'history':
      return `because you ${reason.verb} ${reason.title}`;
    case 'picked_topic':
      return `because you picked ${reason.label}`;
    case 'boosted_topic':
      return `because you asked for more ${reason.label}`;
    case 'frequent_topic':
      return `because ${Math.round(reason.share * 100)}% of what you watch is ${reason.label}`;
    case 'popular':
      return 'popular with everyone';
    case 'fresh':
      return `new (published ${reason.published})`;
    case 'exploration':
      return 'something different to explore';
    case 'rule':
      return reason.boost >= 0 ? 'featured' : 'shown lower by the editors';
    case 'pinned':
      return 'featured by the editors';
  }
}
