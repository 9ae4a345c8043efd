// An MCP server of the stateless revision 2026-07-28, built with the TypeScript SDK v2 server package,
// for tests of the gateway's client side: a plain tool, a tool that asks the user's name as a multi
// round-trip (input_required with the key "user_name"), a tool that changes the tool list, one that
// reports progress, a slow tool that notices cancellation, a resource and a prompt.
// Usage: node ts-sdk-v2-upstream.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp", serves until killed.
import http from "node:http";
import { McpServer, createMcpHandler, inputRequired, acceptedContent } from "@modelcontextprotocol/server";
import { z } from "zod";

// Whether the tool "extra" is offered: toggle_extra flips it and tells subscriptions/listen streams.
let extra = false;
// How the last call of "slow" went: none, running, cancelled (its request was closed) or finished.
let lastSlow = "none";

function build() {
  const server = new McpServer({ name: "gatehouse-v2-upstream", version: "1.0.0" });
  server.registerTool("toggle_extra", { description: "Adds the tool 'extra', or removes it.", inputSchema: z.object({}) },
    async () => {
      extra = !extra;
      handler.notify.toolsChanged();
      return { content: [{ type: "text", text: extra ? "extra added" : "extra removed" }] };
    });
  server.registerTool("count", { description: "Reports progress 1, 2, 3 of 3, then answers.", inputSchema: z.object({}) },
    async (_args, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= 3; i++) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, progress: i, total: 3 } });
        }
      }
      return { content: [{ type: "text", text: "counted to 3" }] };
    });
  server.registerTool("slow", { description: "Takes 20 s unless cancelled.", inputSchema: z.object({}) },
    async (_args, ctx) => {
      lastSlow = "running";
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 20000);
        ctx.mcpReq.signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); });
      });
      lastSlow = ctx.mcpReq.signal.aborted ? "cancelled" : "finished";
      return { content: [{ type: "text", text: lastSlow }] };
    });
  server.registerTool("last_slow", { description: "How the last call of slow went.", inputSchema: z.object({}) },
    async () => ({ content: [{ type: "text", text: lastSlow }] }));
  if (extra) {
    server.registerTool("extra", { description: "Here while toggled on.", inputSchema: z.object({}) },
      async () => ({ content: [{ type: "text", text: "extra" }] }));
  }
  server.registerTool("echo", { description: "Echoes its text.", inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text: `echo: ${text}` }] }));
  server.registerTool("greet", { description: "Asks the user's name, then greets them.", inputSchema: z.object({}) },
    async (_args, ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, "user_name");
      if (typeof answer?.name !== "string") {
        return inputRequired({
          inputRequests: {
            user_name: inputRequired.elicit({ message: "What is your name?", requestedSchema: z.object({ name: z.string() }) }),
          },
        });
      }
      return { content: [{ type: "text", text: `Hello, ${answer.name}!` }] };
    });
  server.registerResource("notes", "note://today", { description: "Today's note", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "buy milk" }] }));
  server.registerPrompt("review", { description: "Review some code" },
    async () => ({ messages: [{ role: "user", content: { type: "text", text: "Please review this." } }] }));
  return server;
}

const handler = createMcpHandler(() => build());
const srv = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = `http://${req.headers.host}${req.url}`;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v !== undefined) headers.set(k, v);
    }
    // The client closing the exchange before its answer is how a 2026-07-28 call is cancelled.
    const closed = new AbortController();
    res.on("close", () => { if (!res.writableEnded) closed.abort(); });
    const response = await handler.fetch(new Request(url, {
      method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      signal: closed.signal,
    }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      const reader = response.body.getReader();
      req.on("close", () => reader.cancel().catch(() => {}));
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        res.write(value);
      }
    }
    res.end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e?.message ?? e));
  }
});
srv.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${srv.address().port}/mcp`));
