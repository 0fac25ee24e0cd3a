// @ts-check
/**
 * Chrome: a finished stem is one IndexedDB Blob joined from its parts (shared/store.js). Chromium
 * writes a record's Blob straight to a file with no copy in memory either way: 635 MB joined in
 * 3.4 s, as an origin-private file 5.4 s (Blobs) or 13.1 s (bytes), the browser's tree flat in all
 * three (scripts/probe_opfs.py, 2026-12-01).
 */
export const STEMS_AS_FILES = false;
