import { h, icon } from '../dom';
import type { Catalog } from '../catalog';
import type { BundleInfo, Controls, Ranking } from '../engine';

export interface ControlsOptions {
  catalog: Catalog;
  controls: Controls;
  defaults: { diversity: number; exploration: number };
  onToggleMute: (topic: string, muted: boolean) => void;
  onPreview: (patch: { diversity?: number; exploration?: number }) => void;
  onCommit: (patch: { diversity?: number; exploration?: number }) => void;
  onResetHidden: () => void;
  onEditPicks: () => void;
}

let sliderSeq = 0;

function slider(
  label: string,
  hint: string,
  value: number,
  max: number,
  describe: (v: number) => string,
  onInput: (v: number) => void,
  onChange: (v: number) => void,
): HTMLElement {
  const id = `slider-${++sliderSeq}`;
  const out = h('output', { class: 'slider-value', for: id }, describe(value));
  const input = h('input', {
    id,
    type: 'range',
    min: '0',
    max: String(max),
    step: '0.05',
    value: String(value),
    'aria-describedby': `${id}-hint`,
  });
  input.addEventListener('input', () => {
    out.textContent = describe(Number(input.value));
    input.setAttribute('aria-valuetext', describe(Number(input.value)));
    onInput(Number(input.value));
  });
  input.addEventListener('change', () => onChange(Number(input.value)));
  input.setAttribute('aria-valuetext', describe(value));
  return h(
    'div',
    { class: 'slider' },
    h('div', { class: 'slider-head' }, h('label', { for: id }, label), out),
    input,
    h('p', { class: 'hint', id: `${id}-hint` }, hint),
  );
}

const level = (v: number) => (v === 0 ? 'Off' : v < 0.34 ? 'Low' : v < 0.67 ? 'Medium' : 'High');

/** "Tune": mute genres, diversity and exploration, and the hidden titles. */
export function controlsPanel(o: ControlsOptions): HTMLElement {
  const muted = new Set(o.controls.muted_topics);
  const chips = o.catalog.topics.map((t) =>
    h(
      'button',
      {
        class: 'toggle-chip',
        type: 'button',
        'aria-pressed': String(muted.has(t.id)),
        dataset: { topic: t.id },
        'aria-label': `Hide ${t.label}`,
        onclick: (e: Event) => {
          const btn = e.currentTarget as HTMLButtonElement;
          const next = btn.getAttribute('aria-pressed') !== 'true';
          btn.setAttribute('aria-pressed', String(next));
          o.onToggleMute(t.id, next);
        },
      },
      icon('eyeOff', 13),
      t.label,
    ),
  );
  const hidden = o.controls.less_like_this.length + o.controls.blocked_items.length;

  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'tune-title' },
    h('h2', { class: 'panel-title', id: 'tune-title' }, icon('sliders', 18), 'Tune your feed'),
    h(
      'div',
      { class: 'panel-group' },
      h('h3', { class: 'group-title' }, 'Hide genres'),
      h('p', { class: 'hint' }, 'Titles in a hidden genre never show up.'),
      h('div', { class: 'chip-cloud', role: 'group', 'aria-label': 'Hide genres' }, chips),
    ),
    slider(
      'Variety',
      'Higher mixes more genres into the top of the list.',
      o.controls.diversity ?? o.defaults.diversity,
      1,
      level,
      (v) => o.onPreview({ diversity: v }),
      (v) => o.onCommit({ diversity: v }),
    ),
    slider(
      'Surprise me',
      'Share of slots kept for genres outside your usual ones.',
      o.controls.exploration ?? o.defaults.exploration,
      0.5,
      (v) => (v === 0 ? 'Off' : `${Math.round(v * 100)}%`),
      (v) => o.onPreview({ exploration: v }),
      (v) => o.onCommit({ exploration: v }),
    ),
    h(
      'div',
      { class: 'panel-row' },
      h(
        'button',
        { class: 'btn btn-secondary', type: 'button', onclick: o.onEditPicks },
        'Edit my genres',
      ),
      hidden > 0
        ? h(
            'button',
            { class: 'btn btn-ghost', type: 'button', onclick: o.onResetHidden },
            `Unhide ${hidden} title${hidden === 1 ? '' : 's'}`,
          )
        : null,
    ),
  );
}

export interface StatsOptions {
  info: BundleInfo;
  runtimeVersion: string | null;
  loadMs: number;
  lastMs: number | null;
  latencies: number[];
  ranking: Ranking | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (v: number) => (v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

/** "Under the hood": which model ranked the list and how long it took. */
export function statsPanel(o: StatsOptions): HTMLElement {
  const model = o.info.models.find((m) => m.id === (o.ranking?.model ?? o.info.default_model)) ?? o.info.models[0];
  const rows: [string, Node | string][] = [
    ['Model', model ? `${model.id} · ${model.precision} · ${(model.bytes / 1e6).toFixed(2)} MB` : '–'],
    ['Bundle', `${o.info.name} v${o.info.version}`],
    ['Manifest', h('code', { title: o.info.hash }, o.info.hash.slice(0, 12))],
    [
      'Signature',
      o.info.signature_verified
        ? h('span', { class: 'ok' }, icon('check', 14), 'verified')
        : h('span', { class: 'warn' }, 'not checked'),
    ],
  ];
  if (o.runtimeVersion) rows.push(['Runtime', `attune ${o.runtimeVersion} (wasm)`]);
  rows.push(['Startup', ms(o.loadMs)]);
  rows.push([
    'Ranking',
    o.lastMs === null
      ? '–'
      : h(
          'span',
          { class: 'latency', 'data-testid': 'latency' },
          h('strong', {}, ms(o.lastMs)),
          o.latencies.length > 1 ? ` · median ${ms(median(o.latencies))} of ${o.latencies.length}` : '',
        ),
  ]);
  if (o.ranking) {
    const c = o.ranking.counts;
    rows.push(['Scored', `${c.eligible.toLocaleString('en')} of ${c.candidates.toLocaleString('en')} titles`]);
    rows.push(['Model read', `${o.ranking.inputs.history.length} history · ${Object.keys(o.ranking.inputs.preferences).length} genres`]);
  }
  return h(
    'section',
    { class: 'panel panel-stats', 'aria-labelledby': 'stats-title' },
    h('h2', { class: 'panel-title', id: 'stats-title' }, icon('chip', 18), 'Under the hood'),
    h('dl', { class: 'stats' }, rows.map(([k, v]) => h('div', { class: 'stat' }, h('dt', {}, k), h('dd', {}, v)))),
  );
}
