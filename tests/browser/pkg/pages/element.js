// Only the element: no wasm is loaded on this page.
import '/pkg/dist/element.js';

const el = document.querySelector('attune-onboarding');
window.__events = [];
el.addEventListener('attune-onboarding-change', (e) => window.__events.push(e.detail.step));
el.addEventListener('attune-onboarding-done', (e) => {
  window.__done = e.detail;
  document.getElementById('result').textContent = JSON.stringify(e.detail, null, 1);
});
