// An MCP server of the stateless revision 2026-07-28, built with the TypeScript SDK v2 server package,
// for tests of the gateway's client side: a plain tool, a tool that asks the user's name as a multi
// round-trip (input_required with the key "user_name"), a tool that changes the tool list, one that
// reports progress, a slow tool that notices cancellation, a resource (and a tool that changes it), a prompt,
// and an MCP App (a tool whose _meta names its ui:// resource).
// Usage: node ts-sdk-v2-upstream.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp", serves until killed;
//        node ts-sdk-v2-upstream.mjs --stdio   -> serves one client on stdin/stdout (either revision, chosen by
//        its first message), until stdin closes.
import { McpServer, createMcpHandler, inputRequired, acceptedContent } from "@modelcontextprotocol/server";
import { z } from "zod";
import { serve } from "./v2-http.mjs";

// Whether the tool "extra" is offered: toggle_extra flips it and tells subscriptions/listen streams.
let extra = false;
// echo's description, which rug_pull changes.
let echoDescription = "Echoes its text.";
// Today's note (note://today) and how often touch_note changed it.
let note = "buy milk";
let noteRevision = 0;
// How the last call of "slow" went: none, running, cancelled (its request was closed) or finished.
let lastSlow = "none";

function build() {
  const server = new McpServer({ name: "gatehouse-v2-upstream", version: "1.0.0" },
    { capabilities: { resources: { subscribe: true, listChanged: true }, extensions: { "io.modelcontextprotocol/ui": {} } } });
  // An MCP App: a tool that names its UI resource, and that resource.
  server.registerTool("clock", { description: "Shows the time in an app.", inputSchema: z.object({}),
    _meta: { ui: { resourceUri: "ui://clock/app.html" } } },
    async () => ({ content: [{ type: "text", text: "12:00" }] }));
  server.registerResource("clock-app", "ui://clock/app.html", { description: "The clock's UI", mimeType: "text/html;profile=mcp-app",
    _meta: { ui: { csp: { connectDomains: [] } } } },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/html;profile=mcp-app", text: "<html><body>clock</body></html>",
      _meta: { ui: { prefersBorder: true } } }] }));
  server.registerTool("toggle_extra", { description: "Adds the tool 'extra', or removes it.", inputSchema: z.object({}) },
    async () => {
      extra = !extra;
      if (stdio) {
        // One server for the whole connection: the tool is added to it (or removed), which announces the change.
        if (extra) {
          extraTool = server.registerTool("extra", { description: "Here while toggled on.", inputSchema: z.object({}) },
            async () => ({ content: [{ type: "text", text: "extra" }] }));
        } else {
          extraTool?.remove();
        }
      } else {
        handler.notify.toolsChanged();
      }
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
  echoTool = server.registerTool("echo", { description: echoDescription, inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text: `echo: ${text}` }] }));
  // A "rug pull": echo's description changes after clients saw it (tool-integrity tests).
  server.registerTool("rug_pull", { description: "Gives echo another description and announces the change.",
    inputSchema: z.object({ description: z.string() }) },
    async ({ description }) => {
      echoDescription = description;
      if (stdio) {
        echoTool.update({ description }); // the one server of this connection announces it
      } else {
        handler.notify.toolsChanged();
      }
      return { content: [{ type: "text", text: "echo's description changed" }] };
    });
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
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: note }] }));
  server.registerTool("touch_note", { description: "Changes note://today and tells its subscribers.", inputSchema: z.object({}) },
    async () => {
      note = `buy milk (revision ${++noteRevision})`;
      if (stdio) {
        await server.server.sendResourceUpdated({ uri: "note://today" });
      } else {
        handler.notify.resourceUpdated("note://today");
      }
      return { content: [{ type: "text", text: note }] };
    });
  server.registerPrompt("review", { description: "Review some code" },
    async () => ({ messages: [{ role: "user", content: { type: "text", text: "Please review this." } }] }));
  return server;
}

const stdio = process.argv.includes("--stdio");
let extraTool;
let echoTool;
let handler;
if (stdio) {
  const { serveStdio } = await import("@modelcontextprotocol/server/stdio");
  serveStdio(() => build());
} else {
  handler = createMcpHandler(() => build());
  serve(handler);
}
