// @ts-check
/**
 * Firefox: a finished stem is a file of the origin-private file system (shared/stem-file.js).
 * Put into IndexedDB as one Blob joined from its parts, a 60-minute stem (635 MB) went through
 * the parent process's memory (240 -> 880 MB PSS, 5.8 s); written as a file piece by piece the
 * parent stayed flat (6.5 s), as it did for an object URL of the file played by an <audio>
 * (scripts/probe_opfs.py, 2026-12-01).
 */
export const STEMS_AS_FILES = true;
