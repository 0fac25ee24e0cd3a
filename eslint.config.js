// ESLint flat config for the extension's ES modules.
import globals from 'globals';

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
];
