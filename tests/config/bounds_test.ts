/**
 * Hostile configuration texts through the config API (issue 9, findings 8, 9 and 10): nesting that used to
 * overflow the HCL parser and poison it for the next call, keys given twice in any spelling, and sizes that
 * used to be echoed whole or cost seconds (huge keys, values, key counts, problem counts, node names).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { parseConfigText } from "../../src/config/hcl.ts";
import { hclParseInUse } from "../../src/config/hcl_parser.ts";

const TD = { trustDomain: "example.org" };
const build = (text: string, vars: Record<string, string> = {}) =>
  buildConfig(text, TD, { getenv: (name) => vars[name] });
const DEPTH = "nesting deeper than 32 levels (each block, object, list and block label is a level)";
/** A valid configuration, checked after every hostile one. */
const VALID = "max_poll_attempts = 3\nkubelet_read_only_port = 10255";

function assertValidStillBuilds(): void {
  const r = build(VALID);
  assert.deepEqual(r.problems, []);
  assert.equal(r.config?.maxPollAttempts, 3);
}

/** Calls `fn` with `depth` more stack frames in use. */
function withFrames(depth: number, fn: () => unknown): unknown {
  return depth === 0 ? fn() : withFrames(depth - 1, fn);
}

/** Every problem is short: nothing is echoed whole. */
function assertShort(problems: readonly string[], max = 1024): void {
  for (const p of problems) {
    assert.ok(p.length <= max, `problem of ${p.length} characters: ${p.slice(0, 200)}`);
  }
}

describe("finding 8: deep nesting is refused before the HCL parser runs, and never poisons it", () => {
  const deep = 10_000;
  const cases: { name: string; text: string; problem: string }[] = [
    {
      name: "objects 10 000 deep",
      text: "a = " + "{ b = ".repeat(deep) + "1" + " }".repeat(deep),
      problem: `unable to decode configuration: line 1, column 197: ${DEPTH}`,
    },
    {
      name: "blocks 10 000 deep, one per line",
      text: Array.from({ length: deep }, (_, i) => `${"  ".repeat(i % 4)}b${i} {`).join("\n") + "\n" +
        "}\n".repeat(deep),
      problem: `unable to decode configuration: line 33, column 5: ${DEPTH}`,
    },
    {
      name: "lists 10 000 deep",
      text: "a = " + "[".repeat(deep) + "]".repeat(deep),
      problem: `unable to decode configuration: line 1, column 37: ${DEPTH}`,
    },
    {
      name: "10 000 block labels",
      text: "a " + '"b" '.repeat(deep) + "{}",
      problem: `unable to decode configuration: line 1, column 131: ${DEPTH}`,
    },
    {
      name: "deep nesting after a syntax error (the parser reads past some errors)",
      text: "a = 1 ,, \n" + "x = " + "{ b = ".repeat(deep) + "1" + " }".repeat(deep),
      problem: `unable to decode configuration: line 2, column 197: ${DEPTH}`,
    },
    {
      name: "JSON 10 000 deep",
      text: '{"a": ' + '{"b": '.repeat(deep) + "1" + "}".repeat(deep + 1),
      problem:
        "unable to decode configuration: line 1, column 193: invalid JSON: nesting deeper than 32 levels",
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a clear error naming the limit and the line; the next valid config builds`, () => {
      assert.deepEqual(build(c.text).problems, [c.problem]);
      assertValidStillBuilds();
      assert.ok(parseConfigText(VALID).ok, "and parses again");
    });
  }

  it("accepts nesting up to the limit (32 levels)", () => {
    const text = "a = " + "[".repeat(32) + "]".repeat(32);
    assert.equal(parseConfigText(text).ok, true);
    assert.equal(parseConfigText(`a = ${"[".repeat(33)}${"]".repeat(33)}`).ok, false);
    const labels = `a ${Array.from({ length: 31 }, (_, i) => `"l${i}"`).join(" ")} {}`;
    assert.equal(parseConfigText(labels).ok, true, "a block with 31 labels is 32 levels");
  });

  it("a GopherJS runtime left half unwound by an overflow does not fail the next configuration", () => {
    // The very copy of js-hcl-parser the config layer runs. Whether an overflow leaves leftovers depends on
    // where the stack runs out again while unwinding: overflow it from many stack depths (about one in seven
    // leaves leftovers); every valid configuration after must build.
    assert.ok(hclParseInUse() !== null, "the parser is loaded");
    const overflow = "a = " + "{ b = ".repeat(10_000) + "1" + " }".repeat(10_000);
    for (let frames = 0; frames < 420; frames += 7) {
      assert.throws(() => withFrames(frames, () => hclParseInUse()!(overflow)), RangeError);
      assertValidStillBuilds();
    }
  });
});

describe("finding 9: a key given twice in any spelling is refused, naming the key and both lines", () => {
  const cases: { name: string; text: string; problems: string[] }[] = [
    {
      name: "same spelling (hcl v1 keeps the last one)",
      text: "max_poll_attempts = 1\nmax_poll_attempts = 2",
      problems: ["max_poll_attempts is set more than once (line 1 and line 2)"],
    },
    {
      name: "same spelling, one quoted",
      text: 'token_path = "/a"\n\n"token_path" = "/b"',
      problems: ["token_path is set more than once (line 1 and line 3)"],
    },
    {
      name: "case variants",
      text: "kubelet_read_only_port = 1\nKubelet_Read_Only_Port = 2",
      problems: [
        'kubelet_read_only_port is set more than once (line 1 and line 2 as "Kubelet_Read_Only_Port")',
      ],
    },
    {
      name: "three times",
      text: 'reload_interval = "1m"\nreload_interval = "2m"\nRELOAD_INTERVAL = "3m"',
      problems: ['reload_interval is set more than once (line 1, line 2 and line 3 as "RELOAD_INTERVAL")'],
    },
    {
      name: "inside a block",
      text: 'experimental {\n  sigstore {\n    rekor_url = "https://a"\n    rekor_url = "https://b"\n  }\n}',
      problems: ["experimental.sigstore.rekor_url is set more than once (line 3 and line 4)"],
    },
    {
      name: "a block and a labelled block",
      text: 'experimental "sigstore" {\n  rekor_url = "https://a"\n}\nexperimental {\n}',
      problems: ["experimental is set more than once (line 1 and line 4)"],
    },
    {
      name: "an issuer of allowed_subjects_list (a map: exact spelling)",
      text: 'experimental { sigstore {\n  rekor_url = "https://r"\n  allowed_subjects_list {\n' +
        '    "https://i" = ["a"]\n    "https://i" = ["b"]\n  }\n} }',
      problems: [
        'experimental.sigstore.allowed_subjects_list["https://i"] is set more than once (line 4 and line 5)',
      ],
    },
    {
      name: "JSON, same spelling",
      text: '{\n  "max_poll_attempts": 1,\n  "max_poll_attempts": 2\n}',
      problems: ["max_poll_attempts is set more than once (line 2 and line 3)"],
    },
    {
      name: "JSON, case variants",
      text: '{\n  "node_name": "a",\n  "NODE_NAME": "b"\n}',
      problems: ['node_name is set more than once (line 2 and line 3 as "NODE_NAME")'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = build(c.text);
      assert.equal(r.config, null);
      assert.deepEqual(r.problems, c.problems);
    });
  }

  it("issuers differing only in case are different issuers", () => {
    const text = 'experimental { sigstore {\n  rekor_url = "https://r"\n  allowed_subjects_list {\n' +
      '    "https://I" = ["a"]\n    "https://i" = ["b"]\n  }\n} }';
    const r = build(text);
    assert.deepEqual(r.problems, []);
    assert.deepEqual([...r.config!.sigstore!.allowedSubjects.keys()], ["https://I", "https://i"]);
  });
});

describe("finding 10: sizes are bounded and nothing is echoed whole", () => {
  it("200 000 unknown keys: refused at the 1001st key, naming its line", () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `unknown_key_${i} = ${i}`).join("\n");
    const r = build(text);
    assert.deepEqual(r.problems, [
      "unable to decode configuration: line 1001, column 1: more than 1000 keys",
    ]);
    const json = `{${Array.from({ length: 200_000 }, (_, i) => `\n"unknown_key_${i}": ${i}`).join(",")}}`;
    assert.deepEqual(build(json).problems, [
      "unable to decode configuration: line 1002, column 1: more than 1000 keys",
    ]);
  });

  it("unknown keys are listed up to 20 (sorted), then counted", () => {
    const names = Array.from({ length: 50 }, (_, i) => `zz_${String(i).padStart(2, "0")}`);
    const r = build(names.map((n) => `${n} = 1`).join("\n"));
    assert.deepEqual(r.problems, [
      `unknown configurations detected: ${names.slice(0, 20).join(",")} and 30 more`,
    ]);
  });

  it("a long unknown key is clipped in the problem, with its length", () => {
    const key = "k".repeat(60_000);
    const r = build(`${key} = 1`);
    // 128 bytes in all: the marker is 27 (the ellipsis is 3 bytes in UTF-8).
    assert.deepEqual(r.problems, [
      `unknown configurations detected: ${"k".repeat(101)}…(truncated, 60000 bytes)`,
    ]);
  });

  it("a key, string or comment over 64 KiB is refused before the parser runs, and not echoed", () => {
    const big = "x".repeat(1024 * 1024);
    for (
      const [text, problem] of [
        [`${big} = 1`, "line 1, column 1: a key of 1048576 bytes; at most 65536 bytes are accepted"],
        [
          `a = "${big}"`,
          "line 1, column 5: a string of 1048578 bytes (in a); at most 65536 bytes are accepted",
        ],
        [`# ${big}\na = 1`, "line 1, column 1: a comment of 1048578 bytes; at most 65536 bytes are accepted"],
        [
          `a = <<EOT\n${big}\nEOT\n`,
          "line 1, column 5: a string of 1048587 bytes (in a); at most 65536 bytes are accepted",
        ],
        [`{"${big}": 1}`, "line 1, column 2: a key of 1048576 bytes; at most 65536 bytes are accepted"],
      ]
    ) {
      assert.deepEqual(build(text).problems, [`unable to decode configuration: ${problem}`]);
    }
  });

  it("more than 1000 list items are refused", () => {
    const list = `skip = [${Array.from({ length: 1001 }, () => '"sha256:0"').join(", ")}]`;
    assert.deepEqual(build(list).problems, [
      "unable to decode configuration: line 1, column 12009: more than 1000 list items",
    ]);
  });

  it("problems are listed up to 20, then counted; the total is kept", () => {
    const items = Array.from({ length: 30 }, (_, i) => `${i}`).join(", ");
    const text = `experimental { sigstore {\n  rekor_url = "https://r"\n` +
      `  skip_signature_verification_image_list = [${items}]\n} }`;
    const r = build(text);
    assert.equal(r.problemCount, 30);
    assert.equal(r.problems.length, 21);
    assert.equal(
      r.problems[0],
      "experimental.sigstore.skip_signature_verification_image_list[0]: expected a string, got an integer",
    );
    assert.equal(r.problems[20], "and 10 more problems");
  });

  it("a 3.9 MB node_name is refused in read-only mode, in HCL and in JSON, and never echoed", () => {
    const name = "n".repeat(3_900_000);
    const hcl = build(`kubelet_read_only_port = 10255\nnode_name = "${name}"`);
    assert.deepEqual(hcl.problems, [
      "unable to decode configuration: line 2, column 13: a string of 3900002 bytes (in node_name); " +
      "at most 65536 bytes are accepted",
    ]);
    const json = build(`{"kubelet_read_only_port": 10255, "node_name": "${name}"}`);
    assert.deepEqual(json.problems, [
      "unable to decode configuration: line 1, column 48: a string of 3900000 bytes (in node_name); " +
      "at most 65536 bytes are accepted",
    ]);
  });

  it("node_name is a host name even in read-only mode, where it is not used", () => {
    const long = "a".repeat(300);
    for (
      const [name, shown] of [
        [long, `"${"a".repeat(100)}..."`],
        ["node_1", '"node_1"'],
        ["node 1", '"node 1"'],
        ["-node", '"-node"'],
        ["a".repeat(64) + ".example", `"${"a".repeat(64)}.example"`],
      ]
    ) {
      const r = build(`kubelet_read_only_port = 10255\nnode_name = "${name}"`);
      assert.deepEqual(r.problems, [`node_name: ${shown} is not a valid host name`], name);
    }
    const fromEnv = build("kubelet_read_only_port = 10255", { MY_NODE_NAME: long });
    assert.deepEqual(fromEnv.problems, [
      `node name from environment variable MY_NODE_NAME: "${"a".repeat(100)}..." is not a valid host name`,
    ]);
    for (const name of ["node-1", "ip-10-0-0-7.ec2.internal", "10.0.0.7", "fd00::7", "a".repeat(63)]) {
      const r = build(`kubelet_read_only_port = 10255\nnode_name = "${name}"`);
      assert.deepEqual(r.problems, [], name);
      assert.equal(r.config?.nodeName, name);
    }
  });

  it("every problem stays short whatever the input", () => {
    const big = "v".repeat(60_000);
    const r = build(
      `node_name = "${big}"\nexperimental { sigstore { rekor_url = "ftp${big}://x" } }\n` +
        `allowed = 1\n"${big}" = 2`,
    );
    assert.equal(r.problems.length, 3);
    assertShort(r.problems, 300);
    assert.deepEqual(build(`node_name_env = "${big}="`).problems, [
      `node_name_env: "${"v".repeat(100)}..." is not a valid environment variable name`,
    ]);
  });
});
