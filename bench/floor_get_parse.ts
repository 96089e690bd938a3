/**
 * The floor of a cold Attest for `deno task bench:table` (bench/lib/cold.ts): one `GET /pods` with `fetch`
 * and one `JSON.parse` of the body, nothing else. Runs as its own process with Deno's default V8 flags (the
 * plugin runs with the release flags, so their cost shows in the ratio), and is driven over stdin: each line
 * `get` makes one request and prints its time in milliseconds on stdout (or `error <message>`).
 *
 * Usage: `deno run -A bench/floor_get_parse.ts URL [CA_FILE TOKEN_FILE]` (the TLS kubelet's CA and bearer
 * token, as the plugin's `kubelet_ca_path` and `token_path`).
 *
 * @module
 */

const [url, caFile, tokenFile] = Deno.args;
if (!url) {
  console.error("usage: floor_get_parse.ts URL [CA_FILE TOKEN_FILE]");
  Deno.exit(2);
}
const client = caFile ? Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(caFile)] }) : undefined;
const headers: Record<string, string> = {};
if (tokenFile) headers.authorization = `Bearer ${Deno.readTextFileSync(tokenFile).trim()}`;

const out = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const command = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    if (command !== "get") continue;
    let line: string;
    try {
      const t = performance.now();
      const res = await fetch(url, { headers, client });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const list = JSON.parse(await res.text());
      const ms = performance.now() - t;
      if (!Array.isArray(list.items)) throw new Error("no items");
      line = String(ms);
    } catch (err) {
      line = `error ${(err as Error).message}`;
    }
    await out.write(encoder.encode(`${line}\n`));
  }
}
