// The package's worker script plus one test-only message: `{type: 'test-panic'}` arms
// the engine's panic hook inside this worker (the package has no such message).
import '/pkg/dist/worker-entry.js';

const packageHandler = self.onmessage;
self.onmessage = async (ev) => {
  if (ev.data?.type === 'test-panic') {
    (await import('/pkg/dist/attune.js')).__attuneInjectPanic();
    self.postMessage({ type: 'test-panic-armed' });
    return;
  }
  packageHandler(ev);
};
