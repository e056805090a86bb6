/** Element types of tensors, named as ONNX Runtime names them. */
export const DTYPES = [
  'float32', 'float64', 'float16',
  'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64',
  'bool', 'string',
] as const;

export type DType = (typeof DTYPES)[number];

export function isDType(value: string): value is DType {
  return (DTYPES as readonly string[]).includes(value);
}

export function isFloatType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function isIntegerType(dtype: DType): boolean {
  return dtype.startsWith('int') || dtype.startsWith('uint');
}

/** Inclusive range of an integer dtype, as numbers (64-bit types limited to safe integers). */
export function integerRange(dtype: DType): readonly [number, number] {
  switch (dtype) {
    case 'int8': return [-128, 127];
    case 'int16': return [-32768, 32767];
    case 'int32': return [-2147483648, 2147483647];
    case 'uint8': return [0, 255];
    case 'uint16': return [0, 65535];
    case 'uint32': return [0, 4294967295];
    case 'uint64': return [0, Number.MAX_SAFE_INTEGER];
    default: return [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  }
}

/** How a dtype is described to people in error messages. */
export function describeDType(dtype: DType): string {
  if (isFloatType(dtype)) return `a number (${dtype})`;
  if (isIntegerType(dtype)) return `an integer (${dtype})`;
  if (dtype === 'bool') return 'a boolean (true/false/1/0)';
  return 'a string';
}
