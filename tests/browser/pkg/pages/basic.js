// The package straight from pkg/dist, no bundler, no import map: what an app gets from
// a CDN or a web view's local file server.
import * as attune from '/pkg/dist/index.js';

const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
window.__violations = violations;

const params = new URLSearchParams(location.search);
const manifest = '/models/movielens-100k/sequence/manifest.json';
const status = document.getElementById('status');

function render(ranking, bundle) {
  const list = document.getElementById('list');
  list.replaceChildren();
  for (const item of ranking.items) {
    const li = document.createElement('li');
    const reasons = document.createElement('div');
    reasons.className = 'reasons';
    reasons.textContent = item.reasons.map(attune.reasonText).join(' · ');
    li.append(item.title, reasons);
    list.append(li);
  }
  status.textContent = `${bundle.info.name} ${bundle.info.version}, signature ${bundle.info.signature_verified ? 'verified' : 'not checked'}; ` +
    `${ranking.inputs.history.length} items in your history; files ${JSON.stringify({ fetched: bundle.report.fetched, cached: bundle.report.cached })}`;
}

async function main() {
  const progress = [];
  await attune.init();
  const bundle = await attune.loadBundle(manifest, {
    signatureKey: params.get('key') ?? undefined,
    // The reference bundles are signed with a published test key: development only.
    allowTestKey: params.get('dev') === '1',
    cache: params.get('cache') ?? 'auto',
    onProgress: (p) => progress.push(p.loaded),
  });
  const profile = await attune.openProfile({ bundle });
  const ranker = new attune.Ranker(bundle);
  const rank = () => {
    const r = ranker.rank(profile, { k: 10 });
    render(r, bundle);
    return r;
  };
  window.__app = { attune, bundle, profile, ranker, rank, progress };
  rank();
  document.body.dataset.state = 'ready';
}

main().catch((e) => {
  window.__error = { name: e.name, code: e.code, message: e.message, raw: e.details?.raw };
  status.textContent = `${e.code}: ${e.message}`;
  document.body.dataset.state = 'error';
});
