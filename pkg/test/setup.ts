// IndexedDB for node: each test file gets the in-memory implementation.
import 'fake-indexeddb/auto';
