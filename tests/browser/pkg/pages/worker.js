import { init, loadBundle, openProfile, Ranker, reasonText } from '/pkg/dist/index.js';
import { createWorkerRanker } from '/pkg/dist/worker.js';

const params = new URLSearchParams(location.search);
const manifest = '/models/movielens-100k/sequence/manifest.json';
const key = params.get('key') ?? undefined;
// The reference bundles are signed with a published test key: development only.
const allowTestKey = true;
const status = document.getElementById('status');
const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
window.__violations = violations;

async function main() {
  const out = {};
  if (params.get('mode') === 'standalone') {
    // No init() on the page: the worker fetches and compiles the module itself, and
    // the profile is plain data.
    const ranker = await createWorkerRanker(manifest, { signatureKey: key, allowTestKey, cache: 'none' });
    const data = { format_version: 1, events: [{ item: '50', ts: 1, type: 'rating', value: 5 }] };
    const r = await ranker.rank(data, { k: 5 });
    out.ids = r.items.map((i) => i.id);
    ranker.terminate();
    out.afterTerminate = await ranker.rank(data).then(() => 'resolved', (e) => e.code);
  } else {
    await init();
    const progress = [];
    const ranker = await createWorkerRanker(manifest, { signatureKey: key, allowTestKey, onProgress: (p) => progress.push(p.loaded) });
    const profile = await openProfile({ storage: 'memory' });
    await profile.setOnboarding({ picked_topics: ['sci-fi'] });
    const cold = await ranker.rank(profile, { k: 10 });
    await profile.track({ item: '50', type: 'rating', value: 5, ts: 1 });
    const warm = await ranker.rank(profile, { k: 10 });
    const bundle = await loadBundle(manifest, { signatureKey: key, allowTestKey });
    const local = new Ranker(bundle).rank(profile, { k: 10 });
    out.info = ranker.info;
    out.progressEvents = progress.length;
    out.coldIds = cold.items.map((i) => i.id);
    out.warmIds = warm.items.map((i) => i.id);
    out.localIds = local.items.map((i) => i.id);
    out.sameAsMainThread = JSON.stringify(warm) === JSON.stringify(local);
    out.badRequest = await ranker.rank(profile, { kk: 1 }).then(() => 'resolved', (e) => `${e.name} ${e.code}`);
    const list = document.getElementById('list');
    for (const item of warm.items) {
      const li = document.createElement('li');
      li.textContent = `${item.title} — ${item.reasons.map(reasonText).join(' · ')}`;
      list.append(li);
    }
  }
  window.__result = out;
  status.textContent = 'done';
  document.body.dataset.state = 'ready';
}

main().catch((e) => {
  window.__error = { name: e.name, code: e.code, message: e.message };
  status.textContent = `${e.code}: ${e.message}`;
  document.body.dataset.state = 'error';
});
