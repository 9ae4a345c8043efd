// The TypeScript SDK v2 client pinned to MCP 2026-07-28, declaring elicitation, sampling and roots, calls
// tools of a session-based upstream that ask for them mid-call: the gateway turns each such request into
// an input_required result, the SDK answers it through the handlers below and retries (multi round-trip).
// Usage: node ts-sdk-v2-rounds-client.mjs <url> '<json array of {name, arguments}>'
// Prints one JSON object: {"protocolVersion", "results": [CallToolResult...], "seen": {handler: count}}.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson ?? "[]");
const client = new Client(
  { name: "gatehouse-ts-v2-rounds", version: "1.0.0" },
  {
    capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} },
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  },
);
const seen = { elicitation: 0, sampling: 0, roots: 0 };
client.setRequestHandler("elicitation/create", async () => {
  seen.elicitation++;
  return { action: "accept", content: { name: "Ann Example", check: true, email: "ann@example.com" } };
});
client.setRequestHandler("sampling/createMessage", async (request) => {
  seen.sampling++;
  return { model: "test-model", role: "assistant", content: { type: "text", text: `sampled: ${request.params.messages.length} message(s)` } };
});
client.setRequestHandler("roots/list", async () => {
  seen.roots++;
  return { roots: [{ uri: "file:///srv/gatehouse-v2-root", name: "v2 root" }] };
});
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
  const results = [];
  for (const call of calls) {
    results.push(await client.callTool({ name: call.name, arguments: call.arguments ?? {} }));
  }
  console.log(JSON.stringify({ protocolVersion: client.getNegotiatedProtocolVersion(), results, seen }));
  await client.close();
} catch (e) {
  console.error("ts-sdk-v2-rounds-client failed:", e?.stack ?? e?.message ?? e);
  process.exit(1);
}
