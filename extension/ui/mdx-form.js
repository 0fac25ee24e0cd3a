// @ts-check
/**
 * The small form an MDX-Net .onnx file not in UVR's table gets: the graph says dim_f and dim_t,
 * not the n_fft it was trained with, its compensate or which stem it gives. Only the n_fft
 * values consistent with its dim_f are offered, with the warning that the choice cannot be
 * verified (a wrong one gives poor stems, not an error).
 */
import { t } from '../shared/i18n.js';
import { el } from './dom.js';
import { MDX_STEMS } from '../shared/uvr-models.js';

/**
 * @typedef {{nFft: number, compensate: number, primary: string, denoise: boolean}} MdxChoice
 */

/**
 * Show the form in `host` and resolve with the user's choice, or null when cancelled.
 * @param {HTMLElement} host
 * @param {{fileName: string, dimF: number, dimT: number, nFfts: number[]}} graph
 * @returns {Promise<MdxChoice | null>}
 */
export function askMdxParameters(host, { fileName, dimF, dimT, nFfts }) {
  const nFft = el('select', { id: 'mdx-n-fft' }, nFfts.map((n) => el('option', { value: String(n) }, [String(n)])));
  nFft.value = String(nFfts[nFfts.length - 1]);
  const compensate = el('input', { id: 'mdx-compensate', type: 'number', min: '0.5', max: '2', step: '0.001', value: '1', required: '' });
  const primary = el('select', { id: 'mdx-primary' }, Object.keys(MDX_STEMS).map((s) => el('option', { value: s }, [s])));
  const denoise = el('input', { id: 'mdx-denoise', type: 'checkbox' });
  const add = el('button', { type: 'submit', id: 'mdx-add' }, [t('mdxFormAdd')]);
  const cancel = el('button', { type: 'button', id: 'mdx-cancel' }, [t('mdxFormCancel')]);
  const form = el('form', { id: 'mdx-form', class: 'mdx-form' }, [
    el('p', {}, [t('mdxFormHeading', fileName, dimF, dimT)]),
    el('p', { class: 'warning', role: 'note' }, [t('mdxFormWarning')]),
    el('label', {}, [t('mdxFormNfft'), ' ', nFft]),
    el('label', {}, [t('mdxFormCompensate'), ' ', compensate]),
    el('label', {}, [t('mdxFormPrimary'), ' ', primary]),
    el('label', {}, [denoise, ' ', t('mdxFormDenoise')]),
    el('div', {}, [add, ' ', cancel]),
  ]); // prettier-ignore
  host.replaceChildren(form);
  return new Promise((resolve) => {
    /** @param {MdxChoice | null} choice */
    const done = (choice) => {
      form.remove();
      resolve(choice);
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = Number(compensate.value);
      if (!(value >= 0.5 && value <= 2)) return compensate.reportValidity();
      done({ nFft: Number(nFft.value), compensate: value, primary: primary.value, denoise: denoise.checked });
    });
    cancel.addEventListener('click', () => done(null));
  });
}
