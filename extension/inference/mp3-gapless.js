// @ts-check
/**
 * MP3's gapless information: the encoder's delay and padding, in the LAME tag of the first
 * frame (the Xing/Info frame). Decoders output `delay + 529` samples of priming before the audio
 * and `padding - 529` after it; Web Audio's whole-file decode (FFmpeg's demuxer) drops both,
 * mediabunny's packets do not, so the streamed path trims them here to give the same samples.
 * The tag's layout: the "LAME tag" (Info tag) specification, read as FFmpeg's mp3dec.c reads it.
 */

const DECODER_DELAY = 529;

/**
 * @param {Blob} blob  an MP3 file
 * @returns {Promise<{skip: number, drop: number} | null>}  samples to drop at the start and end
 */
export async function mp3Gapless(blob) {
  const head = new Uint8Array(await blob.slice(0, 10).arrayBuffer());
  let start = 0;
  if (head[0] === 0x49 && head[1] === 0x44 && head[2] === 0x33) {
    // ID3v2: 10-byte header, syncsafe size, optional 10-byte footer
    const size = ((head[6] & 0x7f) << 21) | ((head[7] & 0x7f) << 14) | ((head[8] & 0x7f) << 7) | (head[9] & 0x7f);
    start = 10 + size + (head[5] & 0x10 ? 10 : 0);
  }
  const frame = new Uint8Array(await blob.slice(start, start + 512).arrayBuffer());
  if (frame.length < 200 || frame[0] !== 0xff || (frame[1] & 0xe0) !== 0xe0) return null;
  const mpeg1 = (frame[1] & 0x18) === 0x18;
  const mono = (frame[3] & 0xc0) === 0xc0;
  const sideInfo = mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17;
  let at = 4 + sideInfo;
  const tag = String.fromCharCode(...frame.subarray(at, at + 4));
  if (tag !== 'Xing' && tag !== 'Info') return null;
  const flags = new DataView(frame.buffer).getUint32(at + 4);
  at += 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  const encoder = String.fromCharCode(...frame.subarray(at, at + 4));
  if (!['LAME', 'Lavf', 'Lavc'].includes(encoder) || at + 24 > frame.length) return null;
  const d = frame.subarray(at + 21, at + 24);
  const delay = (d[0] << 4) | (d[1] >> 4);
  const padding = ((d[1] & 0x0f) << 8) | d[2];
  return { skip: delay + DECODER_DELAY, drop: Math.max(padding - DECODER_DELAY, 0) };
}
