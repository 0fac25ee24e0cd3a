// @ts-check
/**
 * UVR's MDX-Net models that the import recognises, keyed as UVR keys them (shared/md5.js
 * uvrModelHash: the MD5 of the file's last 10 000 x 1024 bytes). The parameters are UVR's
 * (models/MDX_Net_Models/model_data/model_data.json: mdx_n_fft_scale_set, mdx_dim_f_set,
 * compensate, primary_stem); the graph says dim_f and dim_t itself, and the import checks that
 * it agrees. UVR-MDX-NET-Inst_HQ_3 / _4 (6144, dim_f 3072 / 2560) are not here: their keys
 * were not found; the import asks for their n_fft.
 */

/** @typedef {{name: string, nFft: number, dimF: number, compensate: number, primary: string}} UvrModel */

/** @type {Readonly<Record<string, UvrModel>>} */
export const UVR_MDX_MODELS = Object.freeze({
  '970b3f9492014d18fefeedfe4773cb42': { name: 'Kim_Vocal_2', nFft: 7680, dimF: 3072, compensate: 1.009, primary: 'vocals' },
  '73492b58195c3b52d34590d5474452f6': { name: 'Kim_Vocal_1', nFft: 7680, dimF: 3072, compensate: 1.043, primary: 'vocals' },
  '77d07b2667ddf05b9e3175941b4454a0': { name: 'UVR-MDX-NET-Voc_FT', nFft: 7680, dimF: 3072, compensate: 1.021, primary: 'vocals' },
  '1d64a6d2c30f709b8c9b4ce1366d96ee': { name: 'UVR_MDXNET_KARA_2', nFft: 5120, dimF: 2048, compensate: 1.065, primary: 'instrumental' },
  '0ddfc0eb5792638ad5dc27850236c246': { name: 'UVR_MDXNET_9482', nFft: 6144, dimF: 2048, compensate: 1.035, primary: 'vocals' },
}); // prettier-ignore

/** The stems an MDX-Net model may give (UVR's primary_stem values), and what the rest of the mix is then. */
export const MDX_STEMS = Object.freeze({
  vocals: 'instrumental',
  instrumental: 'vocals',
  drums: 'no-drums',
  bass: 'no-bass',
  other: 'no-other',
});
