// Message ids: the same inputs give the same ids as the Python SDK, so a conversation tracked by both SDKs,
// or re-sent whole on every turn, never stores a message twice.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { ConvoSensei } from "../dist/index.js";
import { sha256Hex, utf8SurrogatePass } from "../dist/sha256.js";

// Obtained by running the Python SDK (sdk/python, convosensei_sdk 0.1.0) on the same inputs:
//   c = convosensei_sdk.Client(disabled=True)
//   [m["id"] for m in c._build_item(conversation_id, messages, None, None, None)["messages"]]
// with Python's datetime(2024, 5, 1, 12, 0, 0) (naive, so UTC) and
// datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc) where the JavaScript side passes a Date.
const PYTHON_IDS = [
  {
    conversationId: "support-4711",
    messages: [
      { role: "user", content: "Where is my order?", timestamp: "2026-11-26T09:00:00Z" },
      { role: "assistant", content: "It shipped yesterday.", timestamp: "2026-11-26T09:00:04Z" },
    ],
    ids: ["5f61c5ddd9690117ab4ce16693b0349a", "0cc327198a334f572417e5d9a56a2bd8"],
  },
  {
    conversationId: "c-repeat",
    messages: Array(3).fill({ role: "user", content: "ok", timestamp: "2026-11-26T09:00:00Z" }),
    ids: ["f6e2d6531132b8e0800f391c37576fc8", "2b10f580c940429815308787c125f9ea", "222f192f9079bb2b36b400041c9d9165"],
  },
  {
    conversationId: "Gespräch-é",
    messages: [
      { role: "assistant", content: "Grüße 👋 — 你好", timestamp: "2026-11-26T10:00:00.250+01:00" },
      { role: "system", content: "", timestamp: "2026-11-26T10:00:00Z" },
      { role: "tool", content: "line1\nline2\t\x1f", timestamp: "2026-11-26 10:00" },
    ],
    ids: ["32ff729ff0f16fb31adb71736c1be826", "072eaf5973a54f476e14fd5bf01f0204", "c2964f19b36e607fb5436b959b90f93d"],
  },
  {
    conversationId: "dates",
    messages: [
      { role: "user", content: "naive", timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, 0)) },
      { role: "user", content: "ms", timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 250)) },
    ],
    ids: ["2092cea4dd56d02658d1d56deac74b7a", "216711e6dbadba8cb4cbf0c64b199fe6"],
  },
  {
    conversationId: "surrogate",
    messages: [{ role: "user", content: "cut \ud83d", timestamp: "2026-11-26T09:00:00Z" }],
    ids: ["083bcada12af98f12c8f7355e5eb510f"],
  },
];

/** The wire entries a client builds for one track() call (read through onError of a full queue). */
function built(conversationId, messages) {
  let entry;
  const client = new ConvoSensei({
    apiKey: "cs_test_secret",
    baseUrl: "http://127.0.0.1:9",
    maxQueueSize: 1,
    onError: (_error, items) => (entry = items[0]),
  });
  client.track({ conversationId: "filler", messages: [{ role: "user", content: "x" }] });
  client.track({ conversationId, messages });
  void client.shutdown(0);
  return entry;
}

for (const { conversationId, messages, ids } of PYTHON_IDS) {
  test(`ids of ${JSON.stringify(conversationId)} equal the Python SDK's`, () => {
    assert.deepEqual(
      built(conversationId, messages).messages.map((m) => m.id),
      ids,
    );
  });
}

test("a Date is sent as Python writes the same instant", () => {
  const entry = built("dates", PYTHON_IDS[3].messages);
  assert.deepEqual(
    entry.messages.map((m) => m.timestamp),
    ["2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00.250000+00:00"],
  );
});

test("messages without a timestamp get distinct 32-digit ids, even with equal content", () => {
  const entry = built("c1", [
    { role: "user", content: "same" },
    { role: "user", content: "same" },
  ]);
  const [first, second] = entry.messages.map((m) => m.id);
  assert.deepEqual([first.length, second.length, first === second], [32, 32, false]);
});

test("sha256 agrees with node:crypto on text of every UTF-8 length and block boundary", () => {
  const samples = ["", "a", "é", "你", "👋", "x".repeat(55), "x".repeat(56), "x".repeat(64), "Grüße 👋".repeat(500)];
  for (const text of samples) {
    const bytes = utf8SurrogatePass(text);
    assert.equal(sha256Hex(bytes), createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex"), text);
  }
});
