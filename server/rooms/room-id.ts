import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** 14 characters from a 32-letter alphabet: 70 bits, unguessable and easy to read aloud. */
export function newRoomId(): string {
  const bytes = randomBytes(14);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}
