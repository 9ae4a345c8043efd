// Serves a web-standard MCP handler (createMcpHandler of the TypeScript SDK v2 server package) on
// node:http at 127.0.0.1 on a free port, and prints "listening on http://127.0.0.1:<port>/mcp".
// The client closing its exchange before the answer aborts the request: that is how a 2026-07-28
// call is cancelled. With { localhostOnly: true }, a Host or Origin that is not localhost is refused
// (DNS-rebinding protection) before the handler sees the request.
import http from "node:http";
import {
  hostHeaderValidationResponse, localhostAllowedHostnames, localhostAllowedOrigins, originValidationResponse,
} from "@modelcontextprotocol/server";

export function serve(handler, { localhostOnly = false } = {}) {
  const srv = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
        else if (v !== undefined) headers.set(k, v);
      }
      const closed = new AbortController();
      res.on("close", () => { if (!res.writableEnded) closed.abort(); });
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        signal: closed.signal,
      });
      const refused = localhostOnly
        ? hostHeaderValidationResponse(request, localhostAllowedHostnames()) ?? originValidationResponse(request, localhostAllowedOrigins())
        : undefined;
      const response = refused ?? await handler.fetch(request);
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
  return srv;
}
