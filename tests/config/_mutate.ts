/**
 * Test helper: seeded random edits of a configuration text, for the property and agreement tests.
 *
 * @module
 */

/** Options of {@linkcode mutate}. */
export interface MutateOptions {
  /** The pieces inserted or written over the text. */
  readonly pieces: readonly string[];
  /** The most edits made (at least one is). */
  readonly maxEdits: number;
  /** Also reverse a stretch of up to 5 characters (a fourth kind of edit). @default {false} */
  readonly reverse?: boolean;
}

/**
 * Edits `text` at random places: inserts a piece, deletes 1 to 3 characters, writes a piece over the text
 * there, or (with `reverse`) puts the next 5 characters in reverse order.
 *
 * @param rand A seeded random source (`tests/_rng.ts`).
 * @param text The text to edit.
 * @param options The pieces and how many edits.
 * @returns The edited text.
 */
export function mutate(rand: () => number, text: string, options: MutateOptions): string {
  const { pieces, maxEdits, reverse = false } = options;
  let out = text;
  const edits = 1 + Math.floor(rand() * maxEdits);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    const piece = pieces[Math.floor(rand() * pieces.length)];
    const op = Math.floor(rand() * (reverse ? 4 : 3));
    if (op === 0) out = out.slice(0, at) + piece + out.slice(at);
    else if (op === 1) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 3));
    else if (op === 2) out = out.slice(0, at) + piece + out.slice(at + piece.length);
    else out = out.slice(0, at) + out.slice(at).split("").reverse().join("").slice(0, 5) + out.slice(at + 5);
  }
  return out;
}
