/**
 * The token types of hashicorp/hcl v1 (`hcl/token`), as the scanner (`hcl_scanner.ts`) produces them and
 * the outline's grammar (`hcl_outline.ts`) reads them.
 *
 * @module
 */

/** The end of the input. */
export const EOF_T = 0;
/** A character no token starts with. */
export const ILLEGAL = 1;
/** An identifier (a key, or a bare word). */
export const IDENT = 2;
/** An integer literal (decimal, octal or hexadecimal). */
export const NUMBER = 3;
/** A floating-point literal. */
export const FLOAT = 4;
/** `true` or `false`. */
export const BOOL = 5;
/** A quoted string. */
export const STRING = 6;
/** A heredoc (`<<EOF` ... `EOF`). */
export const HEREDOC = 7;
/** A comment (`#`, `//` or a `/*` block). */
export const COMMENT = 8;
/** `[` */
export const LBRACK = 9;
/** `{` */
export const LBRACE = 10;
/** `,` */
export const COMMA = 11;
/** `.` */
export const PERIOD = 12;
/** `]` */
export const RBRACK = 13;
/** `}` */
export const RBRACE = 14;
/** `=` */
export const ASSIGN = 15;
/** `+` */
export const ADD = 16;
/** `-` */
export const SUB = 17;

/** The names of the token types, indexed by type (for messages in hcl v1's words, e.g. `got: RBRACE`). */
export const TYPE_NAMES: readonly string[] = [
  "EOF",
  "ILLEGAL",
  "IDENT",
  "NUMBER",
  "FLOAT",
  "BOOL",
  "STRING",
  "HEREDOC",
  "COMMENT",
  "LBRACK",
  "LBRACE",
  "COMMA",
  "PERIOD",
  "RBRACK",
  "RBRACE",
  "ASSIGN",
  "ADD",
  "SUB",
];

/** One token: its type and where it stands in the text. */
export interface Token {
  /** One of the token type constants of this module. */
  readonly type: number;
  /** Offset of the token's first character. */
  readonly start: number;
  /** Offset just past the token. */
  readonly end: number;
}
