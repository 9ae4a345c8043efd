// The official MCP TypeScript SDK client, declaring roots, form and URL elicitation and sampling, through
// a gateway that federates server-everything: the upstream's requests for roots and URL elicitation must
// reach this client, and a task-based tool must run as a task (tools/call with `task`, tasks/get,
// tasks/result).
// Usage: node ts-sdk-relay-client.mjs <url>   -> prints one JSON object with what each feature returned.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, ListRootsRequestSchema, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [url] = process.argv.slice(2);
const client = new Client({ name: "gatehouse-relay-test", version: "1.0.0" },
  { capabilities: { roots: {}, elicitation: { form: {}, url: {} } } });
const seen = { roots: 0, urlElicitations: [] };
client.setRequestHandler(ListRootsRequestSchema, async () => {
  seen.roots++;
  return { roots: [{ uri: "file:///srv/gatehouse-test-root", name: "test root" }] };
});
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  if (request.params.mode === "url") {
    seen.urlElicitations.push(request.params.url);
  }
  return { action: "accept" };
});
const transport = new StreamableHTTPClientTransport(new URL(url));
const out = {};
try {
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  out.tools = tools;
  out.roots = await client.callTool({ name: "everything__get-roots-list", arguments: {} });
  out.urlElicitation = await client.callTool({ name: "everything__trigger-url-elicitation",
    arguments: { url: "https://example.com/consent", message: "open it" } });
  // A task-based tool: created as a task, polled, its result fetched.
  const stream = client.experimental.tasks.callToolStream({ name: "everything__simulate-research-query",
    arguments: { topic: "gateways" } }, CallToolResultSchema, { task: { ttl: 60000 } });
  const events = [];
  for await (const message of stream) {
    events.push(message.type);
    if (message.type === "result") {
      out.taskResult = message.result;
    } else if (message.type === "error") {
      out.taskError = String(message.error?.message ?? message.error);
    }
  }
  out.taskEvents = events;
  out.seen = seen;
  console.log(JSON.stringify(out));
  await transport.terminateSession().catch(() => {});
  await client.close();
} catch (e) {
  console.error("ts-sdk-relay-client failed:", e?.message ?? e, JSON.stringify(out));
  process.exit(1);
}
