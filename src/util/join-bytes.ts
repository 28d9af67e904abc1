// Byte arrays joined into one; a single part (or one with the rest empty) is given back as it is, not copied.

export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  const filled = parts.filter((part) => part.length > 0);
  if (filled.length === 1) return filled[0]!;
  let length = 0;
  for (const part of filled) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of filled) out.set(part, at), (at += part.length);
  return out;
}
