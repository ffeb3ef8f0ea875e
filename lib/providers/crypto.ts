import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two byte strings of the same length (false, without early exit on content, otherwise). */
export function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Constant-time comparison of two tokens of any length: both are hashed to 32 bytes first, so neither the content nor
 * the length of the secret leaks through timing.
 */
export function equalTokens(presented: string, secret: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(a, b);
}
