/**
 * Flatten nested arrays into their leaves, row-major, without recursion (so hostile nesting
 * cannot overflow the stack). Returns undefined when nesting goes deeper than `maxDepth`.
 */
export function flattenNested(value: unknown, maxDepth = 32): unknown[] | undefined {
  if (!Array.isArray(value)) return [value];
  const out: unknown[] = [];
  const stack: { list: readonly unknown[]; at: number }[] = [{ list: value, at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (!top) break;
    if (top.at >= top.list.length) {
      stack.pop();
      continue;
    }
    const v = top.list[top.at++];
    if (Array.isArray(v)) {
      if (stack.length >= maxDepth) return undefined;
      stack.push({ list: v, at: 0 });
    } else {
      out.push(v);
    }
  }
  return out;
}
