import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/build.ts";
import { spiffeIdProblem } from "../../src/config/spiffe_id.ts";
import { expected, noEnv, plain, TD } from "./_build_fixtures.ts";

const build = (text: string) => buildConfig(text, TD, { getenv: noEnv });

/** The examples of upstream's doc/plugin_agent_workloadattestor_k8s.md (v1.15.3), as written there. */
const UPSTREAM_BROKER_EXAMPLE = `
    experimental {
      broker {
        access_policy = "enforced"
        brokers = [
          {
            id = "spiffe://example.org/broker"
            pod_reference_scope = "cluster"
          }
        ]
      }
    }
`;
const UPSTREAM_CACHE_EXAMPLE = `
    experimental {
      api_server {
        cache {
          enabled = true
        }
      }
    }
`;

describe("buildConfig: API server and broker settings (upstream v1.15.3 rules)", () => {
  it("accepts upstream's Broker API example", () => {
    const r = build(UPSTREAM_BROKER_EXAMPLE);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      plain(r.config!),
      expected({
        broker: {
          accessPolicy: "enforced",
          brokers: [{ id: "spiffe://example.org/broker", podReferenceScope: "cluster" }],
        } as never,
      }),
    );
  });

  it("accepts upstream's API server cache example", () => {
    const r = build(UPSTREAM_CACHE_EXAMPLE);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(plain(r.config!), expected({ apiServerCacheEnabled: true }));
  });

  it("enable_namespace_labels and disable_kubelet_client with a cluster-scoped broker", () => {
    const r = build(`enable_namespace_labels = true
disable_kubelet_client = true
experimental { broker {
  access_policy = "permissive"
  brokers = [{ id = "spiffe://example.org/a", pod_reference_scope = "cluster" }]
} }`);
    assert.deepEqual(r.problems, []);
    assert.equal(r.config!.enableNamespaceLabels, true);
    assert.equal(r.config!.disableKubeletClient, true);
    assert.equal(r.config!.broker!.accessPolicy, "permissive");
  });

  it("brokers as a list, as repeated blocks and in JSON; pod_reference_scope defaults to agent_node", () => {
    const forms = [
      `experimental { broker { access_policy = "enforced"
        brokers = [{ id = "spiffe://example.org/a" }, { id = "spiffe://example.org/b", pod_reference_scope = "cluster" }] } }`,
      `experimental { broker { access_policy = "enforced"
        brokers { id = "spiffe://example.org/a" }
        brokers { id = "spiffe://example.org/b" pod_reference_scope = "cluster" } } }`,
      JSON.stringify({
        experimental: {
          broker: {
            access_policy: "enforced",
            brokers: [{ id: "spiffe://example.org/a" }, {
              id: "spiffe://example.org/b",
              pod_reference_scope: "cluster",
            }],
          },
        },
      }),
    ];
    for (const text of forms) {
      const r = build(text);
      assert.deepEqual(r.problems, [], text);
      assert.deepEqual([...r.config!.broker!.brokers.values()], [
        { id: "spiffe://example.org/a", podReferenceScope: "agent_node" },
        { id: "spiffe://example.org/b", podReferenceScope: "cluster" },
      ]);
    }
  });

  const bad: { name: string; text: string; problems: string[] }[] = [
    {
      name: "access_policy is required, at least one broker",
      text: `experimental { broker { brokers = [] } }`,
      problems: [
        "experimental.broker.access_policy: must be specified as one of [permissive, enforced]",
        "experimental.broker.brokers: at least one broker is required",
      ],
    },
    {
      name: "an empty broker block",
      text: `experimental { broker {} }`,
      problems: [
        "experimental.broker.access_policy: must be specified as one of [permissive, enforced]",
        "experimental.broker.brokers: at least one broker is required",
      ],
    },
    {
      name: "every broker problem, in order",
      text: `experimental { broker { access_policy = "audit" brokers = [
        { id = "" },
        { id = "spiffe://example.org/b" },
        { id = "spiffe://example.org/b" },
        { id = "https://example.org/c" },
        { id = "spiffe://Example.org/d" },
        { id = "spiffe://example.org/e/" },
        { id = "spiffe://example.org/f", pod_reference_scope = "node" },
        { id = "spiffe://example.org/g", scope = "cluster" },
      ] } }`,
      problems: [
        'experimental.broker.access_policy: unsupported value "audit"; must be one of [permissive, enforced]',
        "experimental.broker.brokers[0].id: must be specified",
        "experimental.broker.brokers[spiffe://example.org/b].id: duplicate broker id",
        "experimental.broker.brokers[https://example.org/c].id: scheme is missing or invalid",
        "experimental.broker.brokers[spiffe://Example.org/d].id: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
        "experimental.broker.brokers[spiffe://example.org/e/].id: path cannot have a trailing slash",
        'experimental.broker.brokers[spiffe://example.org/f].pod_reference_scope: unsupported value "node"; must be one of [agent_node, cluster]',
        "unknown configurations detected in experimental.broker.brokers: scope",
      ],
    },
    {
      name: "disable_kubelet_client excludes every kubelet key and agent_node brokers",
      text: `disable_kubelet_client = true
kubelet_read_only_port = 10255
kubelet_secure_port = 10250
kubelet_ca_path = "/ca"
skip_kubelet_verification = true
token_path = "/t"
certificate_path = "/c"
private_key_path = "/k"
node_name_env = "N"
node_name = "n"
reload_interval = "1m"
experimental { broker { access_policy = "enforced" brokers = [{ id = "spiffe://example.org/a" }] } }`,
      problems: [
        "cannot use both the read-only and secure port (kubelet_read_only_port and kubelet_secure_port are both set)",
        "disable_kubelet_client cannot be used with kubelet_read_only_port",
        "disable_kubelet_client cannot be used with kubelet_secure_port",
        "disable_kubelet_client cannot be used with kubelet_ca_path",
        "disable_kubelet_client cannot be used with skip_kubelet_verification",
        "disable_kubelet_client cannot be used with token_path",
        "disable_kubelet_client cannot be used with certificate_path",
        "disable_kubelet_client cannot be used with private_key_path",
        "disable_kubelet_client cannot be used with node_name_env",
        "disable_kubelet_client cannot be used with node_name",
        "disable_kubelet_client cannot be used with reload_interval",
        'experimental.broker.brokers[spiffe://example.org/a].pod_reference_scope must be "cluster" when disable_kubelet_client is true',
      ],
    },
    {
      name: "use_anonymous_authentication is a kubelet key too",
      text: `disable_kubelet_client = true\nuse_anonymous_authentication = true`,
      problems: ["disable_kubelet_client cannot be used with use_anonymous_authentication"],
    },
    {
      name: "wrong types",
      text: `enable_namespace_labels = "yes"
disable_kubelet_client = 1
experimental { api_server { cache { enabled = "true" } } }`,
      problems: [
        "disable_kubelet_client: expected a bool (true or false), got an integer",
        "enable_namespace_labels: expected a bool (true or false), got a string",
        "experimental.api_server.cache.enabled: expected a bool (true or false), got a string",
      ],
    },
    {
      name: "unknown keys in the new blocks",
      text: `experimental { api_server { watch = true cache { ttl = "1m" } } }`,
      problems: [
        "unknown configurations detected in experimental.api_server: watch",
        "unknown configurations detected in experimental.api_server.cache: ttl",
      ],
    },
  ];
  for (const c of bad) {
    it(`refuses: ${c.name}`, () => {
      const r = build(c.text);
      assert.deepEqual(r.problems, c.problems);
      assert.equal(r.config, null);
    });
  }

  it("disable_kubelet_client = false and unset kubelet values are no conflict (upstream: port > 0, non-empty)", () => {
    const r = build(`disable_kubelet_client = true
kubelet_secure_port = 0
token_path = ""
skip_kubelet_verification = false`);
    assert.deepEqual(r.problems.filter((p) => p.startsWith("disable_kubelet_client")), []);
  });
});

describe("SPIFFE ID rules (go-spiffe spiffeid.FromString)", () => {
  const cases: [string, string | null][] = [
    ["spiffe://example.org", null],
    ["spiffe://example.org/a/b.c-d_e", null],
    ["", "cannot be empty"],
    ["spiffe:/example.org", "scheme is missing or invalid"],
    ["spiffe://", "trust domain is missing"],
    ["spiffe:///a", "trust domain is missing"],
    [
      "spiffe://exa mple",
      "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
    ],
    ["spiffe://example.org/a//b", "path cannot contain empty segments"],
    ["spiffe://example.org/./b", "path cannot contain dot segments"],
    ["spiffe://example.org/a/..", "path cannot contain dot segments"],
    ["spiffe://example.org/a/", "path cannot have a trailing slash"],
    [
      "spiffe://example.org/a$",
      "path segment characters are limited to letters, numbers, dots, dashes, and underscores",
    ],
  ];
  for (const [id, problem] of cases) {
    it(`${JSON.stringify(id)} → ${problem ?? "valid"}`, () => assert.equal(spiffeIdProblem(id), problem));
  }
});
