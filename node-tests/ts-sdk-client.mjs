// Drives a Gatehouse MCP endpoint with the official MCP TypeScript SDK client.
// Usage: node ts-sdk-client.mjs <url> '<json array of {name, arguments}>'
// Prints one JSON object: {"server": {...}, "tools": [names], "results": [CallToolResult...]}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, callsJson] = process.argv.slice(2);
if (!url) {
  console.error("usage: node ts-sdk-client.mjs <url> '<calls json>'");
  process.exit(2);
}
const calls = JSON.parse(callsJson ?? "[]");
const client = new Client({ name: "gatehouse-ts-test", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  const results = [];
  for (const call of calls) {
    results.push(await client.callTool({ name: call.name, arguments: call.arguments ?? {} }));
  }
  console.log(JSON.stringify({ server: client.getServerVersion(), tools, results }));
  await transport.terminateSession().catch(() => {});
  await client.close();
} catch (e) {
  console.error("ts-sdk-client failed:", e?.message ?? e);
  process.exit(1);
}
