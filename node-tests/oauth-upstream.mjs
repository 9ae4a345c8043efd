// An MCP server (official TypeScript SDK, Streamable HTTP with sessions) that is an OAuth protected
// resource: every request needs a bearer JWT signed by the issuer's keys, for this audience and with the
// required scope, as an upstream behind a gateway should demand.
//
// Usage: node oauth-upstream.mjs <issuer> <audience> <scope> [<step-up scope>]
//   prints "listening on http://127.0.0.1:<port>/mcp" once ready.
// - with a step-up scope: tool admin_whoami also needs it; a call without it is answered 403
//   (WWW-Authenticate: Bearer error="insufficient_scope", scope="<step-up scope>"), as servers that ask for
//   more rights only where they are needed do.
// - POST/GET/DELETE /mcp: MCP; without a valid token 401 (WWW-Authenticate: Bearer error="invalid_token",
//   resource_metadata=…), with a token lacking the scope 403 (error="insufficient_scope").
// - GET /.well-known/oauth-protected-resource/mcp: its RFC 9728 metadata.
// - GET /seen: {"bearers": [SHA-256 of every bearer it was sent], "refused": n}: what reached it, so a
//   test can tell that no caller's token did.
// Tool whoami: the claims of the token of the request that called it (sub, aud, scope, azp, iss).
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { sessionHandler } from "./session-server.mjs";

const [issuer, audience, scope, stepUp] = process.argv.slice(2);
if (!issuer || !audience || !scope) {
  console.error("usage: node oauth-upstream.mjs <issuer> <audience> <scope>");
  process.exit(2);
}
const meta = await (await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));

const seen = new Set();
let refused = 0;

function build() {
  const server = new McpServer({ name: "oauth-protected", version: "1.0.0" });
  server.registerTool("whoami", { description: "The claims of the bearer token this call came with" }, async (extra) => {
    const c = extra.authInfo?.extra?.claims ?? {};
    const claims = { sub: c.sub, aud: c.aud, scope: c.scope, azp: c.azp, iss: c.iss, act: c.act };
    return { content: [{ type: "text", text: JSON.stringify(claims) }], structuredContent: claims };
  });
  if (stepUp) {
    server.registerTool("admin_whoami", { description: "whoami, for tokens with the step-up scope" }, async (extra) => {
      const c = extra.authInfo?.extra?.claims ?? {};
      return { content: [{ type: "text", text: JSON.stringify({ sub: c.sub, scope: c.scope }) }] };
    });
  }
  return server;
}

async function authenticate(req, res, base) {
  const header = req.headers.authorization ?? "";
  const challenge = (error) =>
    `Bearer error="${error}", scope="${scope}", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`;
  if (!header.startsWith("Bearer ")) {
    refused++;
    res.writeHead(401, { "WWW-Authenticate": challenge("invalid_request") }).end();
    return null;
  }
  const token = header.slice(7);
  seen.add(createHash("sha256").update(token).digest("hex"));
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer, audience });
    const scopes = String(payload.scope ?? "").split(" ");
    if (!scopes.includes(scope)) {
      refused++;
      res.writeHead(403, { "WWW-Authenticate": challenge("insufficient_scope") }).end();
      return null;
    }
    return { token, clientId: String(payload.azp ?? payload.client_id ?? payload.sub), scopes, extra: { claims: payload } };
  } catch (e) {
    refused++;
    res.writeHead(401, { "WWW-Authenticate": challenge("invalid_token") }).end();
    return null;
  }
}

const mcp = sessionHandler(build, {}, (body, req, res) => {
  if (stepUp && body?.method === "tools/call" && body.params?.name === "admin_whoami" && !req.auth.scopes.includes(stepUp)) {
    const base = `http://127.0.0.1:${http.address().port}`;
    res.writeHead(403, { "WWW-Authenticate": `Bearer error="insufficient_scope", scope="${stepUp}", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` }).end();
    return false;
  }
  return true;
});
const http = createServer(async (req, res) => {
  const base = `http://127.0.0.1:${http.address().port}`;
  if (req.url === "/seen") {
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ bearers: [...seen], refused }));
    return;
  }
  if (req.url === "/.well-known/oauth-protected-resource/mcp") {
    res.writeHead(200, { "Content-Type": "application/json" })
      .end(JSON.stringify({ resource: `${base}/mcp`, authorization_servers: [issuer], scopes_supported: [scope] }));
    return;
  }
  const auth = await authenticate(req, res, base);
  if (!auth) {
    return;
  }
  req.auth = auth;
  await mcp(req, res);
});
http.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
