// @ts-check
/**
 * MD5 (RFC 1321), for one purpose: UVR keys its table of known model files by the MD5 of a
 * file's last 10 000 x 1024 bytes (`get_model_hash` in UVR's UVR.py), and WebCrypto has no MD5.
 * Written here (about 60 lines, the RFC's algorithm) because no MD5 package is in node_modules
 * and none may be added; tested against Python's hashlib (tests/unit/test_uvr_import_js.py).
 * Not for security: MD5 is broken for that, and the key only names a file's parameters, which
 * the import then checks by running the model.
 */

/** Per-round left rotations. */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
/** floor(abs(sin(i + 1)) * 2^32) */
const K = Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));

/**
 * The lowercase hex MD5 digest of `bytes`.
 * @param {Uint8Array} bytes
 */
export function md5Hex(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array((((length + 8) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, (length * 8) >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(length / 2 ** 29), true);
  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const m = new Uint32Array(16);
  for (let at = 0; at < padded.length; at += 64) {
    for (let i = 0; i < 16; i++) m[i] = view.getUint32(at + 4 * i, true);
    let [a, b, c, d] = state;
    for (let i = 0; i < 64; i++) {
      let f;
      let g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = SHIFTS[(i >> 4) * 4 + (i & 3)];
      const sum = (a + f + K[i] + m[g]) >>> 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
  }
  const digest = new DataView(new ArrayBuffer(16));
  state.forEach((word, i) => digest.setUint32(4 * i, word, true)); // little-endian words, whatever the platform's
  return [...new Uint8Array(digest.buffer)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** How much of a file's end UVR hashes. */
export const UVR_HASH_TAIL = 10000 * 1024;

/**
 * UVR's key of a model file: the MD5 of its last UVR_HASH_TAIL bytes, or of the whole file if
 * it is smaller (UVR's `seek(-10000 * 1024, 2)` fails on those, and it hashes the whole file).
 * @param {Blob} file
 */
export async function uvrModelHash(file) {
  const tail = file.slice(Math.max(0, file.size - UVR_HASH_TAIL));
  return md5Hex(new Uint8Array(await tail.arrayBuffer()));
}
