// The package's entry points on a page, for tests that drive them with page.evaluate:
// the main API, the onboarding module and element, and the raw wasm-bindgen glue (for
// the test-only panic hook, which the package itself does not export).
import * as attune from '/pkg/dist/index.js';
import * as onboarding from '/pkg/dist/onboarding.js';
import '/pkg/dist/element.js';

const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
window.__violations = violations;
window.__lab = { attune, onboarding, worker: () => import('/pkg/dist/worker.js'), glue: () => import('/pkg/dist/attune.js') };
document.body.dataset.state = 'ready';
