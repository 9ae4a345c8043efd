// The Streamable HTTP plumbing the test MCP servers share (official TypeScript SDK): one transport per
// session, created by an initialize request and found again by its Mcp-Session-Id; any other request
// without a known session is refused (404 for an unknown session, 400 without one).
// Usage: http.createServer(sessionHandler(build, { eventStore, retryInterval }))
//   build: () => McpServer, one per session; options: more StreamableHTTPServerTransport options.
import { randomUUID } from "node:crypto";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

export function sessionHandler(build, options = {}, before = undefined) {
  const transports = new Map();
  return async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    if (before && !before(body, req, res)) {
      return; // the hook answered
    }
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
        ...options,
      });
      await build().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  };
}
