// An MCP server (official TypeScript SDK, Streamable HTTP with sessions) whose tool `traced` tells what
// trace context the request that called it carried: the W3C traceparent HTTP header and the request's
// _meta.traceparent, so that a test can check that a gateway passes its own span on as their parent.
// Usage: node trace-upstream.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp" once ready.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

function build() {
  const server = new McpServer({ name: "traced", version: "1.0.0" });
  server.registerTool("traced", { description: "The trace context of the request that called it" }, async (extra) => {
    const seen = { header: extra.requestInfo?.headers?.traceparent ?? null, meta: extra._meta?.traceparent ?? null };
    return { content: [{ type: "text", text: JSON.stringify(seen) }] };
  });
  return server;
}

const transports = new Map();
const http = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports.get(sid) : undefined;
  if (!transport) {
    if (sid || !body || body.method !== "initialize") {
      res.writeHead(sid ? 404 : 400).end();
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    await build().connect(transport);
  }
  await transport.handleRequest(req, res, body);
});
http.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
