// @ts-check
/**
 * Settings -> Models on the full-tab page: the installed models (the bundled one and the imported
 * bundles), "Add a model…" (picker and drop), Remove, the default model, and the model offered for
 * the next job. A bundle is checked twice before it is offered: here (shared/bundle.js: zip,
 * sizes, hashes, descriptor) and by the inference host (CHECK_MODEL: a session and one second of
 * noise, in a worker of its own with a deadline: inference/verify-model.js). A UVR MDX-Net .onnx
 * file is taken as it is: its graph read here (shared/mdx-model.js), its parameters from UVR's
 * table by its UVR key (shared/uvr-models.js) or asked (ui/mdx-form.js), then the same
 * CHECK_MODEL. Cancel stops the import at any point. A refusal is a plain sentence; the runtime's
 * own text, where there is one, is folded under it. What a file says is shown with textContent
 * only, never as HTML.
 */
import { MSG } from '../shared/messages.js';
import { BundleError, LIMITS, readBundle } from '../shared/bundle.js';
import { MdxRefusal, consistentNffts, mdxDescriptor, mdxGraphDims } from '../shared/mdx-model.js';
import { uvrModelHash } from '../shared/md5.js';
import { UVR_MDX_MODELS } from '../shared/uvr-models.js';
import { safeFileName } from '../shared/names.js';
import { askMdxParameters } from './mdx-form.js';
import { t } from '../shared/i18n.js';
import { onFilesChosen } from './dom.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import { allModels, deleteModel, putModel } from '../shared/store.js';
import { sendToBackground } from './jobs-view.js';
import { fillModelSelect, readyModels } from './model-choice.js';
import { errorText } from '../shared/errors.js';

/** @typedef {import('../shared/store.js').ModelRecord} ModelRecord */

/** @type {Promise<unknown>} imports run one after another (each may hold a model in memory) */
let importing = Promise.resolve();

/**
 * @param {{list: HTMLElement, picker: HTMLInputElement, drop: HTMLElement, status: HTMLElement,
 *   cancel: HTMLButtonElement, defaultSelect: HTMLSelectElement, jobSelect: HTMLSelectElement,
 *   formHost: HTMLElement}} elements
 */
export function mountModelsView({ list, picker, drop, status, cancel, defaultSelect, jobSelect, formHost }) {
  const refresh = () => render({ list, status, defaultSelect, jobSelect, refresh });
  /** The import under way: its Cancel. @type {{cancelled: boolean, modelId: string} | null} */
  let under = null;
  cancel.addEventListener('click', () => {
    if (!under) return;
    under.cancelled = true;
    if (under.modelId) sendToBackground(MSG.CANCEL_MODEL_CHECK, { modelId: under.modelId }).catch(() => {});
  });

  /** @param {File} file */
  const add = (file) => {
    importing = importing.then(async () => {
      status.dataset.state = 'checking';
      status.textContent = t('bundleChecking', file.name);
      const current = { cancelled: false, modelId: '' };
      under = current;
      cancel.hidden = false;
      const onnx = /\.onnx$/i.test(file.name);
      const checked = onnx ? importOnnx(file, formHost, status, current) : importBundle(file, current);
      const outcome = await checked.finally(() => {
        under = null;
        cancel.hidden = true;
      });
      await refresh(); // the lists first: the status says the model is there once it is offered
      status.dataset.state = outcome.ok ? 'added' : 'refused';
      if (outcome.ok) status.textContent = t('bundleAdded', outcome.name, file.name);
      else showRefusal(status, t('bundleRefused', file.name, outcome.error), outcome.detail);
    }).catch((error) => {
      // e.g. storage failing: said, and the next import still runs
      status.dataset.state = 'refused';
      status.textContent = t('bundleRefused', file.name, errorText(error));
    });
  };
  onFilesChosen(picker, drop, add);
  jobSelect.addEventListener('change', () => {
    jobSelect.dataset.touched = 'yes'; // the user's choice for the next jobs outlives a refresh
  });
  defaultSelect.addEventListener('change', async () => {
    await saveSettings({ defaultModel: defaultSelect.value });
    jobSelect.value = defaultSelect.value;
  });
  refresh();
}

/**
 * A refusal's plain sentence, and under it, folded, the runtime's own text (build paths, error codes).
 * @param {HTMLElement} status @param {string} text @param {string} [detail]
 */
function showRefusal(status, text, detail) {
  const sentence = document.createElement('p');
  sentence.textContent = text;
  if (!detail) {
    status.replaceChildren(sentence);
    return;
  }
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = t('bundleDetails');
  const raw = document.createElement('pre');
  raw.textContent = detail;
  details.append(summary, raw);
  status.replaceChildren(sentence, details);
}

/**
 * Check and store one bundle; nothing stays stored unless every check passed.
 * @param {File} file
 * @param {{cancelled: boolean, modelId: string}} under  the Cancel button's: set when pressed;
 *   modelId: the record whose check Cancel stops
 * @returns {Promise<{ok: true, name: string} | {ok: false, error: string, detail?: string}>}
 */
async function importBundle(file, under) {
  await sweepUnchecked();
  let bundle;
  try {
    bundle = await readBundle(file);
  } catch (error) {
    const text = error instanceof BundleError ? error.message : t('bundleUnreadable', String(error));
    return { ok: false, error: text };
  }
  if (under.cancelled) return { ok: false, error: t('bundleCheckCancelled') };
  const { descriptor, report, model } = bundle;
  return storeChecked(descriptor, report, new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (model)]), under);
}

/** @param {Uint8Array} bytes */
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', /** @type {Uint8Array<ArrayBuffer>} */ (bytes)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A UVR MDX-Net .onnx file: its graph checked, its parameters from UVR's table or the form,
 * then stored and checked like a bundle's model.
 * @param {File} file @param {HTMLElement} formHost @param {HTMLElement} status
 * @param {{cancelled: boolean, modelId: string}} under  the Cancel button's (see importBundle)
 * @returns {Promise<{ok: true, name: string} | {ok: false, error: string, detail?: string}>}
 */
async function importOnnx(file, formHost, status, under) {
  await sweepUnchecked();
  try {
    // refused before it is read: a 2 GB file would not fit the page's memory anyway
    if (file.size > LIMITS.modelBytes) throw new MdxRefusal('mdxTooLarge', mb(file.size), mb(LIMITS.modelBytes));
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { dimF, dimT } = mdxGraphDims(bytes);
    const uvrKey = await uvrModelHash(file);
    const known = Object.hasOwn(UVR_MDX_MODELS, uvrKey) ? UVR_MDX_MODELS[uvrKey] : null;
    if (known && known.dimF !== dimF) throw new MdxRefusal('mdxKnownMismatch', known.name, known.dimF, dimF);
    let choice = known ? { nFft: known.nFft, compensate: known.compensate, primary: known.primary, denoise: false } : null;
    if (!known) {
      status.dataset.state = 'asking';
      status.textContent = t('mdxAsking', file.name);
      choice = await askMdxParameters(formHost, { fileName: file.name, dimF, dimT, nFfts: consistentNffts(dimF, dimT) });
      if (!choice) throw new MdxRefusal('mdxCancelled');
      if (under.cancelled) throw new MdxRefusal('bundleCheckCancelled');
      status.dataset.state = 'checking';
      status.textContent = t('bundleChecking', file.name);
    }
    const name = known?.name ?? (safeFileName(file.name.replace(/\.onnx$/i, '')) || 'mdx-net');
    const descriptor = mdxDescriptor({ name, dimF, dimT, sha256: await sha256Hex(bytes), .../** @type {any} */ (choice) });
    const report = { source: 'uvr-onnx', fileName: file.name, uvrKey, known: Boolean(known) };
    if (under.cancelled) throw new MdxRefusal('bundleCheckCancelled');
    return storeChecked(/** @type {any} */ (descriptor), report, new Blob([bytes]), under);
  } catch (error) {
    if (error instanceof MdxRefusal) return { ok: false, error: t(error.key, ...error.subs) };
    if (error instanceof BundleError) return { ok: false, error: error.message };
    throw error;
  }
}

/** @param {number} bytes */
const mb = (bytes) => (bytes / 1e6).toFixed(1);

/**
 * Store a model as 'checking' and have the inference host run it; deleted unless it passes.
 * @param {import('../shared/bundle.js').BundleDescriptor} descriptor
 * @param {Record<string, any>} report @param {Blob} model
 * @param {{cancelled: boolean, modelId: string}} under  the Cancel button's (see importBundle)
 * @returns {Promise<{ok: true, name: string} | {ok: false, error: string, detail?: string}>}
 */
async function storeChecked(descriptor, report, model, under) {
  const id = `${descriptor.name}-${descriptor.precision}-${descriptor.sha256.slice(0, 16)}`;
  /** @type {ModelRecord} */
  const record = {
    id, state: 'checking', name: descriptor.name, precision: descriptor.precision, sha256: descriptor.sha256,
    stems: descriptor.stems, bytes: model.size, addedAt: Date.now(), model, descriptor, report,
  }; // prettier-ignore
  try {
    await putModel(record);
    under.modelId = id;
    /** @type {import('../shared/messages.js').ModelVerdict} */
    const verdict = under.cancelled
      ? { ok: false, key: 'bundleCheckCancelled', subs: [] }
      : await sendToBackground(MSG.CHECK_MODEL, { modelId: id });
    if (!verdict?.ok) {
      await deleteModel(id);
      if (!verdict) return { ok: false, error: t('bundleNoAnswer') };
      return { ok: false, error: t(verdict.key, ...verdict.subs), detail: verdict.detail };
    }
    return { ok: true, name: descriptor.name };
  } catch (error) {
    await deleteModel(id).catch(() => {});
    return { ok: false, error: errorText(error) };
  }
}

/** Records left 'checking' by an import the browser closed on: never offered, deleted here. */
async function sweepUnchecked() {
  for (const record of await allModels()) {
    if (record.state !== 'ready') await deleteModel(record.id);
  }
}

/**
 * Figures of the build report worth showing: each stem's SDR vs fp32, if the report has them.
 * @param {ModelRecord} record
 */
function figures(record) {
  if (record.report?.source === 'uvr-onnx') {
    const { stft, compensate } = /** @type {any} */ (record.descriptor);
    return t(record.report.known ? 'mdxFiguresKnown' : 'mdxFiguresAsked', stft.nFft, compensate);
  }
  const artifact = (record.report?.artifacts ?? []).find((/** @type {any} */ a) => a?.precision === record.precision);
  const sdrs = artifact?.sdr_vs_fp32_db;
  if (!sdrs || typeof sdrs !== 'object') return t('bundleFiguresReference');
  return Object.entries(sdrs)
    .map(([stem, db]) => `${stem} ${Number(db).toFixed(1)} dB`)
    .join(', ');
}

/**
 * @param {{list: HTMLElement, status: HTMLElement, defaultSelect: HTMLSelectElement,
 *   jobSelect: HTMLSelectElement, refresh: () => Promise<void>}} view
 */
async function render({ list, defaultSelect, jobSelect, refresh }) {
  const ready = await readyModels();
  const settings = await loadSettings();
  let defaultModel = settings.defaultModel;
  if (defaultModel && !ready.some((r) => r.id === defaultModel)) {
    defaultModel = '';
    await saveSettings({ defaultModel });
  }
  const items = [];
  const bundled = document.createElement('li');
  bundled.className = 'model bundled';
  bundled.textContent = t('bundleBundledModel');
  items.push(bundled);
  for (const record of ready) {
    const item = document.createElement('li');
    item.className = 'model';
    item.dataset.id = record.id;
    const text = document.createElement('span');
    text.textContent = t('bundleListItem', record.name, record.stems.join(', '), (record.bytes / 1e6).toFixed(1),
                         record.precision, figures(record)); // prettier-ignore
    const remove = document.createElement('button');
    remove.className = 'remove-model';
    remove.textContent = t('bundleRemove');
    remove.addEventListener('click', async () => {
      await deleteModel(record.id);
      await sendToBackground(MSG.MODEL_REMOVED, {}).catch(() => {});
      await refresh();
    });
    item.append(text, remove);
    items.push(item);
  }
  list.replaceChildren(...items);
  fillModelSelect(defaultSelect, ready, defaultModel);
  fillModelSelect(jobSelect, ready, jobSelect.dataset.touched ? jobSelect.value : defaultModel);
}
