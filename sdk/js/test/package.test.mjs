// How applications load the package: by its name, from ES modules and from CommonJS.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { test } from "node:test";

// Inside the package, its own name resolves through package.json "exports", as it does in an application.
const require = createRequire(import.meta.url);

test("import by name", async () => {
  const sdk = await import("@convosensei/sdk");
  assert.equal(typeof sdk.init, "function");
});

test("require by name from CommonJS: the module where Node loads ES modules with require(), else Node's own advice", () => {
  if (process.features.require_module) {
    const sdk = require("@convosensei/sdk");
    assert.equal(typeof sdk.init, "function");
    assert.equal(typeof sdk.ConvoSensei, "function");
  } else {
    assert.throws(() => require("@convosensei/sdk"), { code: "ERR_REQUIRE_ESM" });
  }
});

test("require from CommonJS loads the same module as import: one default client", { skip: !process.features.require_module }, () => {
  const script =
    'const a = require("@convosensei/sdk");' +
    'import("@convosensei/sdk").then((b) => { process.stdout.write(String(a.init === b.init)); });';
  const out = execFileSync(process.execPath, ["-e", script], { cwd: new URL("..", import.meta.url), encoding: "utf8" });
  assert.equal(out, "true");
});
