// @ts-check
/**
 * The mixer's practice controls (issue 32): key (semitones and a fine tune), tempo, an A-B loop
 * set at the playhead, and the list of the mixer's keyboard shortcuts. The view only shows and
 * reports; the mixer (ui/mixer-view.js) owns the state and the sound.
 */
import { t } from '../shared/i18n.js';
import { clockText } from '../shared/mix.js';
import { CENTS_RANGE, KEY_RANGE, TEMPO_RANGE, signed } from '../shared/practice.js';
import { el } from './dom.js';

/** @typedef {import('../shared/practice.js').Practice} Practice */
/**
 * @typedef {{change: (change: Partial<Practice>) => void, markA: () => void, markB: () => void,
 *   clearLoop: () => void}} PracticeActions
 */

/** The mixer's keys (handled in ui/mixer-view.js), as the page lists them: null is Space, named. */
export const SHORTCUTS = /** @type {const} */ ([
  [null, 'practiceKeysPlay'],
  ['← →', 'practiceKeysSeek'],
  ['[ ]', 'practiceKeysLoop'],
  ['\\', 'practiceKeysClearLoop'],
  ['- =', 'practiceKeysKey'],
  [', .', 'practiceKeysTempo'],
]);

/**
 * @param {string} cls @param {readonly [number, number]} range @param {number} step
 * @param {number} value @param {string} label
 */
const slider = (cls, [min, max], step, value, label) =>
  el('input', {
    class: cls, type: 'range', min: String(min), max: String(max), step: String(step), value: String(value),
    'aria-label': label,
  });

/**
 * @param {PracticeActions} actions
 * @returns {{element: HTMLElement, show: (practice: Practice) => void}}
 */
export function renderPractice(actions) {
  const key = slider('mixer-key', KEY_RANGE, 1, 0, t('practiceKey'));
  const cents = slider('mixer-cents', CENTS_RANGE, 1, 0, t('practiceCents'));
  // in percent: a step of 1 % on the arrows, 25-200
  const tempo = slider('mixer-tempo', [TEMPO_RANGE[0] * 100, TEMPO_RANGE[1] * 100], 1, 100, t('practiceTempo'));
  const keyText = el('output', { class: 'mixer-key-text' });
  const centsText = el('output', { class: 'mixer-cents-text' });
  const tempoText = el('output', { class: 'mixer-tempo-text' });
  const reset = el('button', { class: 'mixer-practice-reset', type: 'button' }, [t('practiceReset')]);
  const markA = el('button', { class: 'mixer-loop-a', type: 'button' }, [t('practiceLoopA')]);
  const markB = el('button', { class: 'mixer-loop-b', type: 'button' }, [t('practiceLoopB')]);
  const clear = el('button', { class: 'mixer-loop-clear', type: 'button' }, [t('practiceLoopClear')]);
  const loopText = el('span', { class: 'mixer-loop-text' });

  key.addEventListener('input', () => actions.change({ semitones: Number(key.value) }));
  cents.addEventListener('input', () => actions.change({ cents: Number(cents.value) }));
  tempo.addEventListener('input', () => actions.change({ tempo: Number(tempo.value) / 100 }));
  reset.addEventListener('click', () => actions.change({ semitones: 0, cents: 0, tempo: 1 }));
  markA.addEventListener('click', actions.markA);
  markB.addEventListener('click', actions.markB);
  clear.addEventListener('click', actions.clearLoop);

  const field = (/** @type {string} */ label, /** @type {HTMLElement[]} */ parts) =>
    el('label', { class: 'mixer-practice-field' }, [el('span', {}, [label]), ...parts]);
  const shortcuts = el('details', { class: 'mixer-shortcuts' }, [
    el('summary', {}, [t('practiceKeys')]),
    el('dl', {}, SHORTCUTS.flatMap(([keys, what]) => [el('dt', {}, [keys ?? t('practiceSpace')]), el('dd', {}, [t(what)])])),
  ]);
  const element = el('div', { class: 'mixer-practice', role: 'group', 'aria-label': t('practiceGroup') }, [
    field(t('practiceKey'), [key, keyText]),
    field(t('practiceCents'), [cents, centsText]),
    field(t('practiceTempo'), [tempo, tempoText]),
    reset,
    el('div', { class: 'mixer-loop' }, [markA, markB, clear, loopText]),
    shortcuts,
  ]);

  /** @param {Practice} practice */
  const show = (practice) => {
    const keyValue = t('practiceSemitones', signed(practice.semitones));
    const centsValue = t('practiceCentsValue', signed(practice.cents));
    const tempoValue = t('practicePercent', String(Math.round(practice.tempo * 100)));
    for (const [input, value, text, shown] of /** @type {const} */ ([
      [key, practice.semitones, keyText, keyValue],
      [cents, practice.cents, centsText, centsValue],
      [tempo, Math.round(practice.tempo * 100), tempoText, tempoValue],
    ])) {
      if (document.activeElement !== input) input.value = String(value);
      input.setAttribute('aria-valuetext', shown);
      text.textContent = shown;
    }
    const { loop } = practice;
    loopText.textContent = loop ? t('practiceLoopRange', clockText(loop.a), clockText(loop.b)) : t('practiceNoLoop');
    clear.disabled = !loop;
    element.dataset.semitones = String(practice.semitones);
    element.dataset.cents = String(practice.cents);
    element.dataset.tempo = String(practice.tempo);
    element.dataset.loop = loop ? `${loop.a} ${loop.b}` : '';
  };
  return { element, show };
}
