// An MCP server (official TypeScript SDK, Streamable HTTP with sessions) whose tool `traced` tells what
// trace context the request that called it carried: the W3C traceparent HTTP header and the request's
// _meta.traceparent, so that a test can check that a gateway passes its own span on as their parent.
// Usage: node trace-upstream.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp" once ready.
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { sessionHandler } from "./session-server.mjs";

function build() {
  const server = new McpServer({ name: "traced", version: "1.0.0" });
  server.registerTool("traced", { description: "The trace context of the request that called it" }, async (extra) => {
    const seen = { header: extra.requestInfo?.headers?.traceparent ?? null, meta: extra._meta?.traceparent ?? null };
    return { content: [{ type: "text", text: JSON.stringify(seen) }] };
  });
  return server;
}

const http = createServer(sessionHandler(build));
http.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
