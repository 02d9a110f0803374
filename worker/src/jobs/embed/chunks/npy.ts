/**
 * The few .npy facts the Engine needs: read a float32 2-D header, write one.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export interface NpyMatrix {
  rows: number;
  cols: number;
  /** Offset of the little-endian float32 data, C order. */
  dataOffset: number;
}

/** Parses the header of a float32 C-order 2-D .npy buffer; returns a reason string when it is not one. */
export function parseNpyMatrix(buffer: Buffer): NpyMatrix | string {
  if (buffer.length < 10 || !buffer.subarray(0, 6).equals(MAGIC)) return 'not a .npy file';
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buffer.subarray(start, start + headerLength).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header)) return `dtype is not float32 (${header.trim()})`;
  if (!/'fortran_order':\s*False/.test(header)) return 'not C order';
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
  if (!shape) return `not a 2-D matrix (${header.trim()})`;
  const rows = Number(shape[1]);
  const cols = Number(shape[2]);
  const dataOffset = start + headerLength;
  const expected = dataOffset + rows * cols * 4;
  if (buffer.length !== expected) return `holds ${buffer.length} bytes, expected ${expected}`;
  return { rows, cols, dataOffset };
}

/** A version 1.0 header for a float32 C-order [rows, cols] matrix, padded to 64 bytes as numpy does. */
export function npyMatrixHeader(rows: number, cols: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = MAGIC.length + 4 + dict.length + 1;
  const padding = (64 - (unpadded % 64)) % 64;
  const text = `${dict}${' '.repeat(padding)}\n`;
  const header = Buffer.alloc(10);
  MAGIC.copy(header);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(text.length, 8);
  return Buffer.concat([header, Buffer.from(text, 'latin1')]);
}
