import { loadBundleData, type BundleData, type Catalog as CatalogJson } from 'attune/onboarding';
import './styles.css';
import { Catalog } from './catalog';
import { h, icon } from './dom';
import { Engine, type Controls, type RankedItem } from './engine';
import { cardView, skeletonCards } from './views/feed';
import { onboardingView } from './views/onboarding';
import { controlsPanel, statsPanel } from './views/panels';
import { privacyDialog } from './views/privacy';

declare const __BUNDLE_KEY__: string;
declare const __ALLOW_TEST_KEY__: boolean;
declare const __BUNDLE_PATH__: string;

const FEED_SIZE = 24;

/** The app: one engine, one catalog, and the views rebuilt from the profile after every
 *  change (the profile is the only state; the page keeps nothing of its own). */
class App {
  private engine!: Engine;
  private ready: Promise<Engine> | null = null;
  private catalog!: Catalog;
  private data: (BundleData & { catalog: CatalogJson }) | null = null;
  /** True while the onboarding screen is up (the engine may still be loading). */
  private onboarding = false;
  private shownIds = new Set<string>();
  private latencies: number[] = [];
  private lastMs: number | null = null;
  private preview: { diversity?: number; exploration?: number } = {};
  private previewFrame = 0;

  private readonly main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  private readonly toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  private readonly scrim = h('div', { class: 'scrim', 'aria-hidden': 'true', onclick: () => this.toggleSheet(false) });
  private readonly tuneButton = h(
    'button',
    {
      class: 'btn btn-ghost nav-tune',
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': 'sidebar',
      hidden: true,
      onclick: () => this.toggleSheet(),
    },
    icon('sliders', 18),
    h('span', {}, 'Tune'),
  );
  private readonly dataButton = h(
    'button',
    { class: 'btn btn-ghost', type: 'button', hidden: true, onclick: () => this.openPrivacy() },
    icon('shield', 18),
    h('span', {}, 'Your data'),
  );
  private grid: HTMLElement | null = null;
  private feedSub: HTMLElement | null = null;
  private speed: HTMLElement | null = null;
  private sidebar: HTMLElement | null = null;
  private statsSlot: HTMLElement | null = null;
  private toastTimer = 0;
  private failed: string | null = null;

  mount(root: HTMLElement): void {
    root.replaceChildren(
      h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
      h(
        'header',
        { class: 'topbar' },
        h(
          'div',
          { class: 'topbar-inner' },
          h(
            'a',
            { class: 'brand', href: './', 'aria-label': 'Attune Movies, home' },
            h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'a'),
            h('span', { class: 'brand-name' }, 'Attune', h('span', { class: 'brand-sub' }, ' Movies')),
          ),
          h('nav', { class: 'topnav', 'aria-label': 'App' }, this.tuneButton, this.dataButton),
        ),
      ),
      this.main,
      this.scrim,
      this.toast,
    );
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && document.body.classList.contains('sheet-open')) {
        this.toggleSheet(false);
        this.tuneButton.focus();
      }
    });
    this.main.replaceChildren(this.loadingView());
  }

  /** Starts the engine and, at the same time, paints what needs no wasm: a new user
   *  sees the onboarding screen as soon as manifest.json and catalog.json are in; a
   *  returning one sees the feed when the engine is ready. */
  async start(): Promise<void> {
    const manifestUrl = new URL(`${__BUNDLE_PATH__}manifest.json`, document.baseURI).href;
    const ready = Engine.start(manifestUrl, __BUNDLE_KEY__, __ALLOW_TEST_KEY__);
    ready.catch(() => {}); // reported below, where it is awaited
    this.ready = ready;
    if (!(await Engine.hasStoredProfile())) {
      try {
        // Verified before it is shown (WebCrypto's Ed25519 and the signed catalog hash),
        // without waiting for the engine.
        this.data = await loadBundleData(manifestUrl, { signatureKey: __BUNDLE_KEY__, allowTestKey: __ALLOW_TEST_KEY__ });
        this.catalog = new Catalog(this.data.manifest, this.data.catalog);
        this.showOnboarding();
      } catch {
        // Not verifiable here (e.g. no WebCrypto off a secure origin) or refused: wait
        // for the engine, whose load reports the problem with more detail.
      }
    }
    try {
      this.engine = await ready;
    } catch (err) {
      this.main.replaceChildren(this.errorView(err));
      return;
    }
    // From now on everything shown comes from what the engine verified.
    this.data = { manifest: this.engine.manifest, catalog: this.engine.catalog };
    this.catalog = new Catalog(this.engine.manifest, this.engine.catalog);
    if (!this.onboarding) this.showFeed();
  }

  // --- views -------------------------------------------------------------------------

  private loadingView(): HTMLElement {
    return h(
      'div',
      { class: 'layout' },
      h(
        'section',
        { class: 'feed', 'aria-busy': 'true', 'aria-label': 'Loading' },
        h('div', { class: 'feed-head' }, h('p', { class: 'loading-note' }, 'Loading the model onto your device…')),
        h('div', { class: 'grid' }, skeletonCards(6)),
      ),
    );
  }

  private errorView(err: unknown): HTMLElement {
    const e = err as { code?: string; message?: string };
    return h(
      'section',
      { class: 'error-state', role: 'alert' },
      h('h1', {}, 'The recommender could not start'),
      h('p', {}, e?.message ?? String(err)),
      e?.code ? h('p', {}, h('code', {}, e.code)) : null,
      h('button', { class: 'btn btn-primary', type: 'button', onclick: () => location.reload() }, 'Try again'),
    );
  }

  private showOnboarding(editing = false): void {
    this.setChrome(false);
    this.onboarding = true;
    const data = this.data!;
    this.main.replaceChildren(
      onboardingView({
        data,
        manifest: data.manifest,
        catalog: this.catalog,
        initial: editing ? this.engine.data().onboarding.picked_topics : undefined,
        onCancel: editing ? () => this.showFeed() : undefined,
        onDone: async (answers) => {
          this.onboarding = false;
          if (!this.engine) this.main.replaceChildren(this.loadingView());
          let engine: Engine;
          try {
            engine = await this.ready!;
          } catch {
            return; // start() shows the error
          }
          await this.safely(() => (editing ? engine.setPicks(answers.picked_topics) : engine.setOnboarding(answers)));
          this.shownIds.clear();
          this.showFeed();
          this.say(editing ? 'Genres updated. Your feed is re-ranked.' : 'Your feed is ready.');
        },
      }),
    );
    window.scrollTo(0, 0);
  }

  private showFeed(): void {
    this.onboarding = false;
    this.setChrome(true);
    window.scrollTo(0, 0);
    this.grid = h('div', { class: 'grid', id: 'feed-grid' });
    this.feedSub = h('p', { class: 'feed-sub' });
    this.speed = h('p', { class: 'speed' });
    this.statsSlot = h('div', { class: 'stats-slot' });
    this.sidebar = h(
      'aside',
      { class: 'sidebar', id: 'sidebar', 'aria-label': 'Feed settings and details' },
      h(
        'div',
        { class: 'sheet-head' },
        h('span', {}, 'Settings'),
        h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close settings', onclick: () => this.toggleSheet(false) }, icon('close', 20)),
      ),
      this.controlsView(),
      this.statsSlot,
      h(
        'section',
        { class: 'panel panel-privacy', 'aria-labelledby': 'privacy-card-title' },
        h('h2', { class: 'panel-title', id: 'privacy-card-title' }, icon('shield', 18), 'Private by design'),
        h('p', { class: 'hint' }, 'Your profile stays in this browser and the model runs here. The page fetches only its own files, the engine and the model bundle.'),
        h('button', { class: 'btn btn-secondary', type: 'button', onclick: () => this.openPrivacy() }, 'See, export or delete my data'),
      ),
    );
    this.main.replaceChildren(
      h(
        'div',
        { class: 'layout' },
        h(
          'section',
          { class: 'feed', 'aria-labelledby': 'feed-title' },
          h('div', { class: 'feed-head' }, h('div', {}, h('h1', { id: 'feed-title' }, 'For you'), this.feedSub), this.speed),
          this.grid,
        ),
        this.sidebar,
      ),
    );
    this.refresh();
  }

  private controlsView(): HTMLElement {
    const defaults = this.engine.manifest.defaults ?? {};
    return controlsPanel({
      catalog: this.catalog,
      controls: this.engine.data().controls,
      defaults: { diversity: defaults.diversity ?? 0, exploration: defaults.exploration ?? 0 },
      onToggleMute: async (topic, muted) => {
        const current = new Set(this.engine.data().controls.muted_topics);
        if (muted) current.add(topic);
        else current.delete(topic);
        await this.safely(() => this.engine.updateControls({ muted_topics: [...current] }));
        this.refresh();
        this.say(muted ? `${this.catalog.label(topic)} is hidden.` : `${this.catalog.label(topic)} is back.`);
      },
      onPreview: (patch) => {
        // Re-rank while the slider moves (one ranking per frame); stored on release.
        this.preview = { ...this.preview, ...patch };
        cancelAnimationFrame(this.previewFrame);
        this.previewFrame = requestAnimationFrame(() => this.refresh());
      },
      onCommit: async (patch) => {
        await this.safely(() => this.engine.updateControls(patch));
        this.preview = {};
        this.refresh();
      },
      onResetHidden: async () => {
        await this.safely(() => this.engine.updateControls({ less_like_this: [], blocked_items: [] }));
        this.replaceControls();
        this.refresh();
        this.say('Hidden titles can show up again.');
      },
      onEditPicks: () => {
        this.toggleSheet(false);
        this.showOnboarding(true);
      },
    });
  }

  private replaceControls(): void {
    const old = this.sidebar?.querySelector('section.panel');
    if (old) old.replaceWith(this.controlsView());
  }

  /** Ranks again and redraws the list and the numbers. */
  private refresh(): void {
    if (!this.grid || !this.feedSub || !this.statsSlot) return;
    const { value: ranking, ms } = this.engine.rank(FEED_SIZE, this.preview);
    this.lastMs = ms;
    this.latencies.push(ms);
    if (this.latencies.length > 200) this.latencies.shift();

    const data = this.engine.data();
    const picked = new Set(data.onboarding.picked_topics);
    const first = this.shownIds.size === 0;
    const cards = ranking.items.map((item) =>
      cardView({
        item,
        catalog: this.catalog,
        picked,
        isNew: !first && !this.shownIds.has(item.id),
        onLike: (it) => this.interact(it, 'like'),
        onDislike: (it) => this.interact(it, 'less'),
      }),
    );
    this.shownIds = new Set(ranking.items.map((i) => i.id));
    this.grid.replaceChildren(
      ...(cards.length
        ? cards
        : [h('div', { class: 'empty-state' }, h('h2', {}, 'Nothing left to show'), h('p', {}, 'Unhide some genres in Tune to see more.'))]),
    );

    const likes = data.events.filter((e) => e.type === 'like').length;
    const labels = data.onboarding.picked_topics.map((t) => this.catalog.label(t));
    const parts = [labels.length ? `Tuned for ${joinList(labels)}` : 'Tuned to what you do'];
    if (likes) parts.push(`${likes} like${likes === 1 ? '' : 's'}`);
    if (data.controls.muted_topics.length) parts.push(`${data.controls.muted_topics.length} hidden genre${data.controls.muted_topics.length === 1 ? '' : 's'}`);
    this.feedSub.textContent = parts.join(' · ');
    this.speed?.replaceChildren(
      icon('chip', 15),
      `Ranked on your device in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`,
    );

    this.statsSlot.replaceChildren(
      statsPanel({
        info: this.engine.info,
        runtimeVersion: this.engine.runtimeVersion,
        loadMs: this.engine.loadMs,
        lastMs: this.lastMs,
        latencies: this.latencies,
        ranking,
      }),
    );
  }

  /** A like is an event: it enters the history the model reads. "Not for me" is a
   *  control ("less like this": the title is hidden and titles sharing its genres are
   *  demoted), so Tune can undo it; a dislike event would hide the title for good. */
  private async interact(item: RankedItem, kind: 'like' | 'less'): Promise<void> {
    const title = this.catalog.item(item.id)?.title ?? item.title;
    if (kind === 'like') {
      await this.safely(() => this.engine.track(item.id, 'like'));
    } else {
      const c: Controls = this.engine.data().controls;
      await this.safely(() => this.engine.updateControls({ less_like_this: [...new Set([...c.less_like_this, item.id])] }));
      this.replaceControls();
    }
    this.refresh();
    const fresh = this.grid?.querySelectorAll('.card-new').length ?? 0;
    const what = kind === 'like' ? `Liked ${title}.` : `Fewer titles like ${title}.`;
    this.say(`${what} ${fresh ? `${fresh} new pick${fresh === 1 ? '' : 's'} for you.` : 'Feed updated.'}`);
  }

  private openPrivacy(): void {
    this.toggleSheet(false);
    const dialog = privacyDialog({
      catalog: this.catalog,
      data: this.engine.data(),
      exportText: this.engine.exportText(),
      onDelete: async () => {
        await this.engine.deleteAll();
        this.latencies = [];
        this.shownIds.clear();
        this.showOnboarding();
        this.say('Your data was deleted from this device.');
      },
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  // --- chrome ------------------------------------------------------------------------

  private setChrome(feed: boolean): void {
    this.tuneButton.hidden = !feed;
    this.dataButton.hidden = !feed;
    this.toggleSheet(false);
  }

  private toggleSheet(open?: boolean): void {
    const next = open ?? !document.body.classList.contains('sheet-open');
    document.body.classList.toggle('sheet-open', next);
    this.tuneButton.setAttribute('aria-expanded', String(next));
    if (next) this.sidebar?.querySelector<HTMLElement>('button, input')?.focus();
  }

  /** Runs a profile change. The package applies a change in memory before it writes
   *  it, so when the write fails (storage full, private mode) the feed still follows
   *  the user and the toast says it was not saved. */
  private async safely(change: () => Promise<void>): Promise<boolean> {
    this.failed = null;
    try {
      await change();
      return true;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const message = `Not saved on this device${e?.code ? ` (${e.code})` : ''}: ${e?.message ?? String(err)}`;
      this.say(message);
      this.failed = message;
      return false;
    }
  }

  /** Shows a message; a failed save from the same action wins over its success text. */
  private say(message: string): void {
    this.toast.textContent = this.failed ?? message;
    this.failed = null;
    this.toast.classList.add('visible');
    clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => this.toast.classList.remove('visible'), 3500);
  }
}

function joinList(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

const app = new App();
app.mount(document.getElementById('app')!);
void app.start();
