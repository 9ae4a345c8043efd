// Drives a Gatehouse MCP endpoint with the official MCP TypeScript SDK v2 client, pinned to the
// stateless revision 2026-07-28 (no fallback to initialize: anything else fails).
// Usage: node ts-sdk-v2-client.mjs <url> <api key or -> '<json array of {name, arguments}>' <resource uri or -> <prompt name or ->
// Prints one JSON object: {"protocolVersion", "era", "server", "tools", "resources", "prompts", "results", "read", "prompt", "listen"}.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, key, callsJson, resource, prompt] = process.argv.slice(2);
if (!url) {
  console.error("usage: node ts-sdk-v2-client.mjs <url> <key|-> '<calls json>' <resource|-> <prompt|->");
  process.exit(2);
}
const calls = JSON.parse(callsJson ?? "[]");
const client = new Client(
  { name: "gatehouse-ts-v2-test", version: "1.0.0" },
  { versionNegotiation: { mode: { pin: "2026-07-28" } } },
);
const headers = key && key !== "-" ? { Authorization: `Bearer ${key}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
try {
  await client.connect(transport);
  const out = {
    protocolVersion: client.getNegotiatedProtocolVersion(),
    era: client.getProtocolEra(),
    server: client.getServerVersion(),
  };
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.resources = (await client.listResources()).resources.map((r) => r.uri);
  out.prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  out.results = [];
  for (const call of calls) {
    out.results.push(await client.callTool({ name: call.name, arguments: call.arguments ?? {} }));
  }
  if (resource && resource !== "-") {
    out.read = await client.readResource({ uri: resource });
  }
  if (prompt && prompt !== "-") {
    out.prompt = await client.getPrompt({ name: prompt });
  }
  // A change-notification stream: opened, acknowledged, closed.
  const subscription = await client.listen({ toolsListChanged: true });
  out.listen = { honored: subscription.honoredFilter };
  await subscription.close();
  out.listen.closed = await subscription.closed;
  console.log(JSON.stringify(out));
  await client.close();
} catch (e) {
  console.error("ts-sdk-v2-client failed:", e?.stack ?? e?.message ?? e);
  process.exit(1);
}
