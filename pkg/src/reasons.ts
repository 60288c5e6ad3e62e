import type { Reason } from './types.js';
import { engine, wasm } from './wasm.js';

export interface ReasonTextOptions {
  /** Shown instead of the catalog title of the item a history reason names (your
   *  display form of it, e.g. "The Rock" for "Rock, The (1996)"). */
  title?: string;
}

/**
 * The display text of a reason, written by the engine (Rust `Reason::text`): the same
 * words as a ranked item's `why`, on every target. Ranked items already carry `why`;
 * use this for reasons held apart from their ranking, or with a display title of your
 * own. Needs `init()`. Apps that translate should switch on `reason.kind` instead.
 */
export function reasonText(reason: Reason, options: ReasonTextOptions = {}): string {
  const w = wasm();
  return engine(() => w.reasonText(JSON.stringify(reason), options.title));
}
