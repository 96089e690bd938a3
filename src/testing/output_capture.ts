/**
 * Captures a plugin process's stdout and stderr line by line as they arrive, the way spire-agent reads
 * them: the first stdout line is the handshake, later stdout lines are discarded by the agent (kept here so
 * tests can assert there are none), and every stderr line is a log line.
 *
 * @module
 */

/**
 * Splits a byte stream into lines as they arrive.
 *
 * @param stream The stream, read to its end.
 * @param onLine Called with each complete line, without its newline.
 * @returns The unterminated last line (`""` when the stream ended with a newline).
 */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let index: number;
    while ((index = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, index));
      buffer = buffer.slice(index + 1);
    }
  }
  buffer += decoder.decode();
  return buffer; // an unterminated last line
}

/**
 * The output of one plugin process, filled while it runs. Reading starts in the constructor and never
 * fails (a stream error ends the capture).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutputCapture } from "./output_capture.ts";
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["eval", "console.log('1|1|unix|/x|grpc'); console.log('late'); console.error('log')"],
 *   stdout: "piped",
 *   stderr: "piped",
 * }).spawn();
 * const output = new OutputCapture(child.stdout, child.stderr);
 * assert.equal(await output.firstLine, "1|1|unix|/x|grpc");
 * await child.status;
 * await output.done;
 * assert.equal(output.stdoutRaw, "1|1|unix|/x|grpc\nlate\n");
 * assert.deepEqual(output.stdoutAfterFirstLine, ["late"]);
 * assert.deepEqual(output.stderrLines, ["log"]);
 * ```
 */
export class OutputCapture {
  /** Every stderr line so far (a last line without a newline included once the stream ends). */
  readonly stderrLines: string[] = [];
  /** Every stdout line after the first one. */
  readonly stdoutAfterFirstLine: string[] = [];
  /** The first stdout line, once it has arrived (never settles when there is none). */
  readonly firstLine: Promise<string>;
  /** Settles when stdout has been read to its end. */
  readonly stdoutDone: Promise<unknown>;
  /** Settles when stderr has been read to its end. */
  readonly stderrDone: Promise<unknown>;
  #stdoutRaw = "";
  #stdoutLines = 0;

  /**
   * @param stdout The process's piped stdout.
   * @param stderr The process's piped stderr.
   */
  constructor(stdout: ReadableStream<Uint8Array>, stderr: ReadableStream<Uint8Array>) {
    let firstLine: ((line: string) => void) | null = null;
    this.firstLine = new Promise<string>((resolve) => firstLine = resolve);
    this.stderrDone = readLines(stderr, (l) => this.stderrLines.push(l)).then((rest) => {
      if (rest) this.stderrLines.push(rest);
    }).catch(() => {});
    this.stdoutDone = readLines(stdout, (l) => {
      this.#stdoutRaw += l + "\n";
      if (this.#stdoutLines++ === 0) firstLine?.(l);
      else this.stdoutAfterFirstLine.push(l);
    }).then((rest) => {
      this.#stdoutRaw += rest;
      if (rest) this.stdoutAfterFirstLine.push(rest);
    }).catch(() => {});
  }

  /** Everything written to stdout so far, raw. */
  get stdoutRaw(): string {
    return this.#stdoutRaw;
  }

  /** How many complete stdout lines have arrived. */
  get stdoutLineCount(): number {
    return this.#stdoutLines;
  }

  /** Settles when both streams have been read to their end. */
  get done(): Promise<unknown> {
    return Promise.all([this.stderrDone, this.stdoutDone]);
  }
}
