// ESLint flat config for the extension's ES modules.
import globals from 'globals';
import importPlugin from 'eslint-plugin-import';

/** Functions injected into pages as content scripts: they cannot import browser-api.js. */
const RECORDER_FILES = ['extension/platform/firefox/page-recorder.js'];

/** Only these files may name the browser's extension API (`chrome` / `browser`). */
const API_FILES = ['extension/platform/*/browser-api.js', ...RECORDER_FILES];

export default [
  {
    files: ['extension/**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.serviceworker, ...globals.webextensions },
    },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-undef': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      eqeqeq: ['error', 'smart'],
      'no-restricted-globals': [
        'error',
        { name: 'chrome', message: 'Use `api` from platform/browser-api.js (the one file that names it).' },
        { name: 'browser', message: 'Use `api` from platform/browser-api.js (the one file that names it).' },
      ],
    },
  },
  { files: API_FILES, rules: { 'no-restricted-globals': 'off' } },
  // Vendored libraries as published: their own eslint comments are not ours to keep tidy.
  { files: ['.stage/stage-*/vendor/**'], linterOptions: { reportUnusedDisableDirectives: 'off' } },
  // No import cycles, checked on each browser's staged build (make check stages them): in the
  // source tree `../platform/browser-api.js` does not resolve, since the build swaps platform/<browser>/ in.
  {
    files: ['.stage/stage-*/**/*.js'],
    ignores: ['.stage/stage-*/vendor/**'],
    plugins: { import: importPlugin },
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    rules: { 'import/no-cycle': ['error', { ignoreExternal: true }], 'import/no-unresolved': 'error' },
  },
];
