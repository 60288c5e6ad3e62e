/**
 * `<attune-onboarding>`: the onboarding flow as an accessible custom element. Importing
 * this module registers it (and `defineOnboardingElement()` registers it under another
 * name). Does not import the wasm.
 *
 * ```html
 * <attune-onboarding src="/bundles/movielens/manifest.json" min-picks="1"></attune-onboarding>
 * <script type="module">
 *   import 'attune/element';
 *   document.querySelector('attune-onboarding')
 *     .addEventListener('attune-onboarding-done', (e) => profile.setOnboarding(e.detail));
 * </script>
 * ```
 *
 * - Attributes: `src` (manifest URL; or set the `data` property to `bundle.data`),
 *   `signature-key` (the pinned ed25519 key: the manifest must verify before anything
 *   is shown), `integrity` (the manifest's sha256), `allow-test-key` (development only),
 *   `bundle-name`, `min-picks`, `max-picks`, `items-per-topic`. Without a key or
 *   integrity the data from `src` is unverified: set `data = bundle.data` once the
 *   engine has loaded the bundle.
 * - Events (bubbling, composed): `attune-onboarding-change` (`detail`: the state) and
 *   `attune-onboarding-done` (`detail`: the result, with `skipped`); `attune-onboarding-error`.
 * - Texts: the `texts` property (see `OnboardingTexts`) for other languages.
 * - Theme with CSS custom properties on the element: `--attune-font`, `--attune-fg`,
 *   `--attune-bg`, `--attune-muted`, `--attune-accent`, `--attune-accent-fg`,
 *   `--attune-border`, `--attune-radius`, `--attune-gap`, `--attune-focus`; or style
 *   the parts: `container`, `heading`, `hint`, `options`, `option`, `progress`,
 *   `actions`, `skip`, `back`, `next`.
 * - Keyboard: Tab moves between the option group and the buttons; arrow keys, Home and
 *   End move within the options; Space or Enter toggles. Focus moves to the heading
 *   when the step changes, so screen readers announce it.
 */
import { createOnboarding, loadBundleData, type OnboardingController, type OnboardingState } from './onboarding.js';
import type { BundleData } from './types.js';

export interface OnboardingTexts {
  topicsHeading: string;
  topicsHint: (s: OnboardingState) => string;
  itemsHeading: string;
  itemsHint: string;
  progress: (s: OnboardingState) => string;
  skip: string;
  back: string;
  next: string;
  finish: string;
  loading: string;
}

export const defaultTexts: OnboardingTexts = {
  topicsHeading: 'What do you like?',
  topicsHint: (s) =>
    s.progress.min > 0
      ? `Pick at least ${s.progress.min} topic${s.progress.min === 1 ? '' : 's'} (${s.progress.suggested} suggested).`
      : `Pick a few topics (${s.progress.suggested} suggested).`,
  itemsHeading: 'Any favourites here?',
  itemsHint: 'Select the ones you like, or continue.',
  progress: (s) =>
    s.step === 'items'
      ? `Step ${s.progress.step} of ${s.progress.steps}: ${s.items.filter((i) => i.liked).length} selected`
      : `Step ${s.progress.step} of ${s.progress.steps}: ${s.progress.picked} of ${s.progress.suggested} picked`,
  skip: 'Skip',
  back: 'Back',
  next: 'Continue',
  finish: 'Done',
  loading: 'Loading…',
};

const css = `
:host { display: block; font: var(--attune-font, inherit); color: var(--attune-fg, CanvasText); background: var(--attune-bg, transparent); }
:host([hidden]) { display: none; }
section { display: flex; flex-direction: column; gap: var(--attune-gap, 0.75rem); }
h2 { margin: 0; font-size: 1.25em; outline: none; }
p { margin: 0; color: var(--attune-muted, GrayText); }
.options { display: flex; flex-wrap: wrap; gap: calc(var(--attune-gap, 0.75rem) / 1.5); }
button { font: inherit; min-height: 44px; min-width: 44px; padding: 0.5em 1em; border-radius: var(--attune-radius, 999px);
  border: 1px solid var(--attune-border, currentColor); background: transparent; color: inherit; cursor: pointer; touch-action: manipulation; }
button[aria-pressed="true"] { background: var(--attune-accent, #2563eb); border-color: var(--attune-accent, #2563eb); color: var(--attune-accent-fg, #fff); }
button[aria-pressed="true"]::before { content: "✓ "; }
button:focus-visible, h2:focus-visible { outline: 3px solid var(--attune-focus, var(--attune-accent, #2563eb)); outline-offset: 2px; }
button[aria-disabled="true"] { opacity: 0.5; cursor: not-allowed; }
.actions { display: flex; gap: calc(var(--attune-gap, 0.75rem) / 1.5); justify-content: flex-end; flex-wrap: wrap; }
.next { background: var(--attune-accent, #2563eb); border-color: var(--attune-accent, #2563eb); color: var(--attune-accent-fg, #fff); }
@media (prefers-reduced-motion: no-preference) { button { transition: background-color 120ms, color 120ms; } }
`;

// Lets the module load where HTMLElement does not exist (server rendering, node).
const Base = (typeof HTMLElement === 'undefined' ? class {} : HTMLElement) as typeof HTMLElement;

export class AttuneOnboardingElement extends Base {
  static observedAttributes = ['src', 'signature-key', 'integrity', 'allow-test-key', 'bundle-name', 'min-picks', 'max-picks', 'items-per-topic'];

  #root: ShadowRoot;
  #flow: OnboardingController | undefined;
  #data: BundleData | undefined;
  #texts: OnboardingTexts = defaultTexts;
  #unsubscribe: (() => void) | undefined;
  #renderedStep: string | undefined;
  #load: AbortController | undefined;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    // A constructed stylesheet is not an inline <style>, so a strict style-src in the
    // app's CSP does not block it; the <style> fallback is for old web views.
    if ('adoptedStyleSheets' in this.#root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      this.#root.adoptedStyleSheets = [sheet];
    } else {
      const style = document.createElement('style');
      style.textContent = css;
      this.#root.append(style);
    }
    this.#root.addEventListener('click', (ev) => this.#onClick(ev));
    this.#root.addEventListener('keydown', (ev) => this.#onKey(ev as KeyboardEvent));
  }

  /** The bundle data (`bundle.data`); setting it restarts the flow. */
  get data(): BundleData | undefined {
    return this.#data;
  }
  set data(value: BundleData | undefined) {
    this.#load?.abort();
    this.#data = value;
    this.#start();
  }

  get texts(): OnboardingTexts {
    return this.#texts;
  }
  set texts(value: Partial<OnboardingTexts>) {
    this.#texts = { ...defaultTexts, ...value };
    this.#renderedStep = undefined;
    if (this.#flow) this.#render(this.#flow.state);
  }

  /** The flow (for tests and custom controls). */
  get controller(): OnboardingController | undefined {
    return this.#flow;
  }

  connectedCallback(): void {
    if (!this.#flow && !this.#load) this.#start();
  }

  disconnectedCallback(): void {
    this.#load?.abort();
    this.#load = undefined;
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || !this.isConnected) return;
    if (['src', 'signature-key', 'integrity', 'allow-test-key', 'bundle-name'].includes(name)) this.#data = undefined;
    this.#start();
  }

  #number(name: string): number | undefined {
    const v = this.getAttribute(name);
    if (v === null || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
  }

  #start(): void {
    this.#unsubscribe?.();
    this.#flow = undefined;
    this.#renderedStep = undefined;
    const src = this.getAttribute('src');
    if (!this.#data && src) {
      this.#root.replaceChildren(...this.#root.querySelectorAll('style'));
      const p = document.createElement('p');
      p.setAttribute('role', 'status');
      p.textContent = this.#texts.loading;
      this.#root.append(p);
      const ctl = new AbortController();
      this.#load = ctl;
      const attr = (n: string) => this.getAttribute(n) ?? undefined;
      loadBundleData(src, {
        signal: ctl.signal,
        signatureKey: attr('signature-key'),
        integrity: attr('integrity'),
        allowTestKey: this.hasAttribute('allow-test-key'),
        name: attr('bundle-name'),
      }).then(
        (data) => {
          if (ctl.signal.aborted) return;
          this.#load = undefined;
          this.#data = data;
          this.#start();
        },
        (error: unknown) => {
          if (ctl.signal.aborted) return;
          this.#load = undefined;
          p.textContent = (error as Error).message;
          this.dispatchEvent(new CustomEvent('attune-onboarding-error', { detail: error, bubbles: true, composed: true }));
        },
      );
      return;
    }
    if (!this.#data) return;
    const opts: Record<string, number> = {};
    for (const [attr, key] of [['min-picks', 'minPicks'], ['max-picks', 'maxPicks'], ['items-per-topic', 'itemsPerTopic']] as const) {
      const n = this.#number(attr);
      if (n !== undefined) opts[key] = n;
    }
    const flow = createOnboarding(this.#data, opts);
    this.#flow = flow;
    let first = true;
    this.#unsubscribe = flow.subscribe((state) => {
      this.#render(state);
      if (!first) this.dispatchEvent(new CustomEvent('attune-onboarding-change', { detail: state, bubbles: true, composed: true }));
      first = false;
    });
    void flow.done.then((result) => {
      if (this.#flow === flow) this.dispatchEvent(new CustomEvent('attune-onboarding-done', { detail: result, bubbles: true, composed: true }));
    });
  }

  #render(state: OnboardingState): void {
    const t = this.#texts;
    if (state.step === 'done') {
      this.#renderedStep = 'done';
      return;
    }
    if (this.#renderedStep !== state.step) {
      const moveFocus = this.#renderedStep !== undefined;
      this.#renderedStep = state.step;
      this.#root.replaceChildren(...this.#root.querySelectorAll('style'));
      const section = el('section', { part: 'container', 'aria-labelledby': 'attune-h' });
      const h = el('h2', { id: 'attune-h', part: 'heading', tabindex: '-1' });
      const hint = el('p', { id: 'attune-hint', part: 'hint' });
      const group = el('div', { class: 'options', part: 'options', role: 'group', 'aria-labelledby': 'attune-h', 'aria-describedby': 'attune-hint' });
      const entries = state.step === 'topics' ? state.topics.map((x) => ({ id: x.id, label: x.label })) : state.items.map((x) => ({ id: x.id, label: x.title }));
      entries.forEach((e, i) => {
        const b = el('button', { type: 'button', part: 'option', 'data-id': e.id, 'aria-pressed': 'false', tabindex: i === 0 ? '0' : '-1' });
        b.textContent = e.label;
        group.append(b);
      });
      const progress = el('p', { part: 'progress', role: 'status', 'aria-live': 'polite', class: 'progress' });
      const actions = el('div', { class: 'actions', part: 'actions' });
      const skip = el('button', { type: 'button', part: 'skip', 'data-action': 'skip' });
      actions.append(skip);
      if (state.step === 'items') actions.append(el('button', { type: 'button', part: 'back', 'data-action': 'back' }));
      actions.append(el('button', { type: 'button', part: 'next', class: 'next', 'data-action': 'next' }));
      section.append(h, hint, group, progress, actions);
      this.#root.append(section);
      if (moveFocus) h.focus();
    }
    // Update in place, so focus stays on the control the user just used.
    const q = (s: string) => this.#root.querySelector(s)!;
    q('h2').textContent = state.step === 'topics' ? t.topicsHeading : t.itemsHeading;
    q('[part=hint]').textContent = state.step === 'topics' ? t.topicsHint(state) : t.itemsHint;
    q('[part=progress]').textContent = t.progress(state);
    q('[data-action=skip]').textContent = t.skip;
    const back = this.#root.querySelector('[data-action=back]');
    if (back) back.textContent = t.back;
    const next = q('[data-action=next]');
    next.textContent = state.step === 'items' || state.items.length === 0 ? t.finish : t.next;
    next.setAttribute('aria-disabled', String(!state.progress.canContinue));
    const pressed = new Map<string, boolean>(
      state.step === 'topics' ? state.topics.map((x) => [x.id, x.picked]) : state.items.map((x) => [x.id, x.liked]),
    );
    for (const b of this.#root.querySelectorAll<HTMLButtonElement>('button[data-id]')) {
      b.setAttribute('aria-pressed', String(pressed.get(b.dataset.id!) ?? false));
    }
  }

  #onClick(ev: Event): void {
    const flow = this.#flow;
    const target = (ev.target as Element | null)?.closest?.('button');
    if (!flow || !target) return;
    const id = (target as HTMLElement).dataset.id;
    if (id !== undefined) {
      if (flow.state.step === 'topics') flow.toggleTopic(id);
      else flow.toggleItem(id);
      return;
    }
    const action = (target as HTMLElement).dataset.action;
    if (action === 'skip') flow.skip();
    else if (action === 'back') flow.back();
    else if (action === 'next') flow.next();
  }

  /** Roving focus within the option group (one tab stop for the whole group). */
  #onKey(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement;
    if (!target.dataset?.id) return;
    const all = [...this.#root.querySelectorAll<HTMLButtonElement>('button[data-id]')];
    const at = all.indexOf(target as HTMLButtonElement);
    let to = -1;
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') to = (at + 1) % all.length;
    else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') to = (at - 1 + all.length) % all.length;
    else if (ev.key === 'Home') to = 0;
    else if (ev.key === 'End') to = all.length - 1;
    if (to < 0) return;
    ev.preventDefault();
    for (const b of all) b.tabIndex = -1;
    all[to]!.tabIndex = 0;
    all[to]!.focus();
  }
}

function el(tag: string, attrs: Record<string, string>): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Registers the element (default tag `attune-onboarding`); safe to call twice. */
export function defineOnboardingElement(tag = 'attune-onboarding'): void {
  if (typeof customElements === 'undefined' || customElements.get(tag)) return;
  // A subclass per extra tag: one constructor cannot be registered twice.
  customElements.define(tag, tag === 'attune-onboarding' ? AttuneOnboardingElement : class extends AttuneOnboardingElement {});
}

defineOnboardingElement();

declare global {
  interface HTMLElementTagNameMap {
    'attune-onboarding': AttuneOnboardingElement;
  }
}
