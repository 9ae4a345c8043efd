// An MCP server on the official TypeScript SDK (Streamable HTTP, sessions, an event store for
// resumability) with behaviours a gateway must carry through:
// - its tool test_reconnection closes its SSE stream mid-call, as SEP-1699 allows: the client must
//   reconnect with GET and Last-Event-ID to get the result;
// - it logs while handling logging/setLevel;
// - its tools/list result carries ttlMs and cacheScope beside the tools.
// Usage: node ts-sdk-upstream.mjs   -> prints {"url": "http://127.0.0.1:<port>/mcp"} once listening.
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { sessionHandler } from "./session-server.mjs";
import { ListToolsRequestSchema, SetLevelRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";

function build() {
  const server = new McpServer({ name: "resumable", version: "1.0.0" }, { capabilities: { logging: {} } });
  server.registerTool("test_reconnection", { description: "Closes its SSE stream before answering" }, async (extra) => {
    extra.closeSSEStream?.();
    await new Promise((r) => setTimeout(r, 200));
    return { content: [{ type: "text", text: "answered after the stream was closed" }] };
  });
  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: "test_reconnection", description: "Closes its SSE stream before answering", inputSchema: { type: "object" } }],
    ttlMs: 60000,
    cacheScope: "public",
  }));
  server.server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "level set to " + request.params.level } });
    return {};
  });
  return server;
}

const http = createServer(sessionHandler(build, { eventStore: new InMemoryEventStore(), retryInterval: 100 }));
http.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${http.address().port}/mcp` }));
});
