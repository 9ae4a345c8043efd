// The server the MCP conformance suite's 2026-07-28 requirements expect to find
// (conformance 0.2.0-alpha, `server --requirements 2026-07-28`), speaking that revision natively: built
// on the TypeScript SDK v2 server package. Names, texts and shapes follow the scenario descriptions
// printed by the suite; the multi round-trip tools (test_input_required_result_*) answer with
// resultType "input_required" under the input keys the scenarios name, their requestState sealed with
// an HMAC (so a tampered one is refused). The gateway's tests run the suite against this fixture
// directly and through /mcp/<server>, and compare.
// Usage: node conformance-2026-fixture.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp".
import { randomBytes } from "node:crypto";
import zlib from "node:zlib";
import {
  McpServer, ResourceTemplate, createMcpHandler, inputRequired, acceptedContent, completable, fromJsonSchema,
  createRequestStateCodec, ProtocolError, CLIENT_CAPABILITIES_META_KEY,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { serve } from "./v2-http.mjs";

const NO_ARGS = z.object({});
const STEP_MS = 50;
const pause = () => new Promise((r) => setTimeout(r, STEP_MS));

// A 1x1 red PNG and a short WAV beep, as base64.
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td));
  return Buffer.concat([len, td, crc]);
}
const header = Buffer.alloc(13);
header.writeUInt32BE(1, 0);
header.writeUInt32BE(1, 4);
header.set([8, 2, 0, 0, 0], 8);
const RED_PIXEL_PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk("IHDR", header), chunk("IDAT", zlib.deflateSync(Buffer.from([0, 0xff, 0, 0]))), chunk("IEND", Buffer.alloc(0))]).toString("base64");
function beepWav() {
  const rate = 8000, samples = 800, wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0, "ascii"); wav.writeUInt32LE(36 + samples * 2, 4); wav.write("WAVE", 8, "ascii");
  wav.write("fmt ", 12, "ascii"); wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24); wav.writeUInt32LE(rate * 2, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
  wav.write("data", 36, "ascii"); wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return wav.toString("base64");
}
const BEEP_WAV = beepWav();

// requestState is sealed for this process: every round of a flow comes back to it.
const states = createRequestStateCodec({ key: randomBytes(32), ttlSeconds: 600 });
const ARG1_CANDIDATES = ["paris", "park", "party", "test", "testing", "tested"];

// Whether test_dynamic_tool and test_dynamic_prompt are offered (flipped by the trigger tools).
let dynamicTool = false;
let dynamicPrompt = false;

const text = (t) => ({ content: [{ type: "text", text: t }] });
const nameSchema = (prop, label) => ({
  type: "object", properties: { [prop]: { type: "string", description: label } }, required: [prop],
});
const elicit = (message, requestedSchema) => inputRequired.elicit({ message, requestedSchema });
const sample = (question, maxTokens) => ({
  method: "sampling/createMessage",
  params: { messages: [{ role: "user", content: { type: "text", text: question } }], maxTokens },
});
const listRoots = () => ({ method: "roots/list", params: {} });
/** A bare input response, or undefined when it is missing or not an object (so it is asked again). */
function answer(ctx, key) {
  const v = ctx.mcpReq.inputResponses?.[key];
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}
/** inputResponses present but not a map of objects is a protocol error, not a reason to ask again. */
function checkInputResponses(ctx) {
  const raw = ctx.mcpReq.inputResponses;
  if (raw === undefined) return;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ProtocolError(-32602, "inputResponses must be an object keyed by the input request keys");
  }
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new ProtocolError(-32602, `inputResponses.${k} must be an object (the response to that input request)`);
    }
  }
}
const samplingText = (r) => (r?.content?.type === "text" ? r.content.text : JSON.stringify(r?.content ?? null));

function build(handler) {
  const server = new McpServer({ name: "gatehouse-conformance-2026-fixture", version: "1.0.0" }, {
    capabilities: { tools: { listChanged: true }, resources: { subscribe: false, listChanged: true },
      prompts: { listChanged: true }, completions: {}, logging: {} },
    requestState: { verify: (s, ctx) => states.verify(s, ctx) },
  });

  // ---- content tools ---------------------------------------------------------------------------
  server.registerTool("test_simple_text", { description: "Returns one text content item.", inputSchema: NO_ARGS },
    async () => text("This is a simple text response for testing."));
  server.registerTool("test_image_content", { description: "Returns a 1x1 red PNG.", inputSchema: NO_ARGS },
    async () => ({ content: [{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }] }));
  server.registerTool("test_audio_content", { description: "Returns a short WAV beep.", inputSchema: NO_ARGS },
    async () => ({ content: [{ type: "audio", data: BEEP_WAV, mimeType: "audio/wav" }] }));
  server.registerTool("test_embedded_resource", { description: "Returns one embedded text resource.", inputSchema: NO_ARGS },
    async () => ({ content: [{ type: "resource", resource: { uri: "test://embedded-resource", mimeType: "text/plain",
      text: "This is an embedded resource content." } }] }));
  server.registerTool("test_multiple_content_types", { description: "Returns text, image and an embedded resource.", inputSchema: NO_ARGS },
    async () => ({ content: [
      { type: "text", text: "Multiple content types test:" },
      { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" },
      { type: "resource", resource: { uri: "test://mixed-content-resource", mimeType: "application/json",
        text: JSON.stringify({ test: "data", value: 123 }) } },
    ] }));
  server.registerTool("test_error_handling", { description: "Always fails with an isError result.", inputSchema: NO_ARGS },
    async () => ({ isError: true, content: [{ type: "text", text: "This tool intentionally returns an error for testing" }] }));
  const logging = async (_args, ctx) => {
    const steps = ["Tool execution started", "Tool processing data", "Tool execution completed"];
    for (let i = 0; i < steps.length; i++) {
      if (i > 0) await pause();
      await ctx.mcpReq.log("info", steps[i], "test_tool_with_logging");
    }
    return text("Tool execution completed with logging");
  };
  server.registerTool("test_tool_with_logging", { description: "Logs three info messages (when asked to log).", inputSchema: NO_ARGS }, logging);
  server.registerTool("test_logging_tool", { description: "Logs three info messages (when asked to log).", inputSchema: NO_ARGS }, logging);
  server.registerTool("test_tool_with_progress", { description: "Reports progress 0, 50, 100 of 100.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await pause();
        if (token !== undefined) {
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, progress, total: 100 } });
        }
      }
      return text(token !== undefined ? "Tool execution completed with progress" : "Tool execution completed without progress");
    });
  server.registerTool("test_custom_headers", {
    description: "Echoes its region, which 2026-07-28 clients mirror into Mcp-Param-Region.",
    inputSchema: fromJsonSchema({ type: "object", properties: { region: { type: "string", description: "A region name",
      "x-mcp-header": "Region" } }, required: ["region"] }),
  }, async ({ region }) => text(`region=${region}`));
  server.registerTool("json_schema_2020_12_tool", {
    description: "Declares JSON Schema 2020-12 keywords that must reach clients intact (SEP-1613).",
    inputSchema: fromJsonSchema({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object",
      $defs: { address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } }, additionalProperties: false }),
  }, async () => text("ok"));
  // Asks the client's model; the SDK answers -32021 (HTTP 400) for a request that did not declare sampling.
  server.registerTool("test_missing_capability", { description: "Needs the client's sampling capability.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      const reply = answer(ctx, "hello");
      return reply ? text(`LLM response: ${samplingText(reply)}`) : inputRequired({ inputRequests: { hello: sample("Say hello", 50) } });
    });
  server.registerTool("test_streaming_elicitation", { description: "Asks the user's name, then greets them.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      const reply = acceptedContent(ctx.mcpReq.inputResponses, "name");
      return reply ? text(`User response: ${JSON.stringify(reply)}`)
        : inputRequired({ inputRequests: { name: elicit("What is your name?", nameSchema("name", "Your name")) } });
    });
  // The server is built afresh for every request: what the two trigger tools change lives outside it.
  server.registerTool("test_trigger_tool_change", { description: "Adds test_dynamic_tool, or removes it.", inputSchema: NO_ARGS },
    async () => {
      dynamicTool = !dynamicTool;
      handler.notify.toolsChanged();
      return text(dynamicTool ? "test_dynamic_tool added" : "test_dynamic_tool removed");
    });
  if (dynamicTool) {
    server.registerTool("test_dynamic_tool", { description: "Added by test_trigger_tool_change.", inputSchema: NO_ARGS },
      async () => text("dynamic"));
  }
  server.registerTool("test_trigger_prompt_change", { description: "Adds test_dynamic_prompt, or removes it.", inputSchema: NO_ARGS },
    async () => {
      dynamicPrompt = !dynamicPrompt;
      handler.notify.promptsChanged();
      return text(dynamicPrompt ? "test_dynamic_prompt added" : "test_dynamic_prompt removed");
    });
  if (dynamicPrompt) {
    server.registerPrompt("test_dynamic_prompt", { description: "Added by test_trigger_prompt_change" },
      async () => ({ messages: [{ role: "user", content: { type: "text", text: "A dynamic prompt." } }] }));
  }

  // ---- multi round-trip tools (SEP-2322) -------------------------------------------------------
  server.registerTool("test_input_required_result_elicitation", { description: "Asks the user's name (user_name).", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const reply = acceptedContent(ctx.mcpReq.inputResponses, "user_name");
      return typeof reply?.name === "string" ? text(`Hello, ${reply.name}!`)
        : inputRequired({ inputRequests: { user_name: elicit("What is your name?", nameSchema("name")) } });
    });
  server.registerTool("test_input_required_result_sampling", { description: "Asks the client's model (capital_question).", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const reply = answer(ctx, "capital_question");
      return reply ? text(`The model answered: ${samplingText(reply)}`)
        : inputRequired({ inputRequests: { capital_question: sample("What is the capital of France?", 100) } });
    });
  server.registerTool("test_input_required_result_list_roots", { description: "Asks the client's roots (client_roots).", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const reply = answer(ctx, "client_roots");
      return Array.isArray(reply?.roots) ? text(`Roots: ${reply.roots.map((r) => r.uri).join(", ")}`)
        : inputRequired({ inputRequests: { client_roots: listRoots() } });
    });
  server.registerTool("test_input_required_result_request_state", { description: "Asks for confirmation, keeps state.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const state = ctx.mcpReq.requestState();
      const reply = answer(ctx, "confirm");
      if (state?.step === "confirm" && reply) return text("state-ok: confirmed");
      return inputRequired({
        inputRequests: { confirm: elicit("Please confirm", { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] }) },
        requestState: await states.mint({ step: "confirm" }, ctx),
      });
    });
  server.registerTool("test_input_required_result_multiple_inputs", { description: "Asks a name, a greeting and the roots at once.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const state = ctx.mcpReq.requestState();
      const keys = ["user_name", "greeting", "client_roots"];
      if (state?.step === "all" && keys.every((k) => answer(ctx, k))) {
        return text(`Got all three: ${acceptedContent(ctx.mcpReq.inputResponses, "user_name")?.name}, `
          + `${samplingText(answer(ctx, "greeting"))}, ${answer(ctx, "client_roots").roots?.length ?? 0} root(s)`);
      }
      return inputRequired({
        inputRequests: { user_name: elicit("What is your name?", nameSchema("name")), greeting: sample("Generate a greeting", 50),
          client_roots: listRoots() },
        requestState: await states.mint({ step: "all" }, ctx),
      });
    });
  server.registerTool("test_input_required_result_multi_round", { description: "Asks a name, then a colour.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const state = ctx.mcpReq.requestState();
      if (state?.step === 2 && typeof acceptedContent(ctx.mcpReq.inputResponses, "step2")?.color === "string") {
        return text(`${state.name} likes ${acceptedContent(ctx.mcpReq.inputResponses, "step2").color}`);
      }
      const name = acceptedContent(ctx.mcpReq.inputResponses, "step1")?.name;
      if ((state?.step === 1 && typeof name === "string") || state?.step === 2) {
        return inputRequired({
          inputRequests: { step2: elicit("Step 2: What is your favorite color?", nameSchema("color")) },
          requestState: await states.mint({ step: 2, name: state.step === 2 ? state.name : name }, ctx),
        });
      }
      return inputRequired({
        inputRequests: { step1: elicit("Step 1: What is your name?", nameSchema("name")) },
        requestState: await states.mint({ step: 1 }, ctx),
      });
    });
  server.registerTool("test_input_required_result_tampered_state", { description: "Refuses a requestState it did not seal.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const state = ctx.mcpReq.requestState();
      if (state?.step === "confirm" && answer(ctx, "confirm")) return text("state verified");
      return inputRequired({
        inputRequests: { confirm: elicit("Please confirm", { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] }) },
        requestState: await states.mint({ step: "confirm" }, ctx),
      });
    });
  server.registerTool("test_input_required_result_capabilities", { description: "Asks only what the client declared it can answer.", inputSchema: NO_ARGS },
    async (_args, ctx) => {
      checkInputResponses(ctx);
      const caps = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? {};
      const requests = {};
      if (caps.sampling && !answer(ctx, "capital_question")) requests.capital_question = sample("What is the capital of France?", 100);
      if (caps.elicitation && !answer(ctx, "user_name")) requests.user_name = elicit("What is your name?", nameSchema("name"));
      if (caps.roots && !answer(ctx, "client_roots")) requests.client_roots = listRoots();
      return Object.keys(requests).length > 0 ? inputRequired({ inputRequests: requests })
        : text(`Nothing more to ask (declared: ${Object.keys(caps).sort().join(", ") || "none"})`);
    });
  server.registerPrompt("test_input_required_result_prompt", { description: "Asks the context the prompt should use." },
    async (ctx) => {
      checkInputResponses(ctx);
      const reply = acceptedContent(ctx.mcpReq.inputResponses, "user_context");
      return typeof reply?.context === "string"
        ? { messages: [{ role: "user", content: { type: "text", text: `Use this context: ${reply.context}` } }] }
        : inputRequired({ inputRequests: { user_context: elicit("What context should the prompt use?", nameSchema("context")) } });
    });

  // ---- resources ---------------------------------------------------------------------------------
  server.registerResource("Static Text Resource", "test://static-text", { description: "A fixed text resource", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." }] }));
  server.registerResource("Static Binary Resource", "test://static-binary", { description: "A 1x1 red PNG", mimeType: "image/png" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "image/png", blob: RED_PIXEL_PNG }] }));
  server.registerResource("Template Resource", new ResourceTemplate("test://template/{id}/data", { list: undefined }),
    { description: "JSON data for any id", mimeType: "application/json" },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: "application/json",
      text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }));

  // ---- prompts and completion --------------------------------------------------------------------
  server.registerPrompt("test_simple_prompt", { description: "A prompt without arguments" },
    async () => ({ messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }] }));
  server.registerPrompt("test_prompt_with_arguments", {
    description: "Substitutes two arguments; arg1 completes",
    argsSchema: z.object({
      arg1: completable(z.string().describe("First test argument"), (v) => ARG1_CANDIDATES.filter((c) => c.startsWith(v ?? ""))),
      arg2: z.string().describe("Second test argument"),
    }),
  }, async ({ arg1, arg2 }) => ({ messages: [{ role: "user", content: { type: "text",
    text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }));
  server.registerPrompt("test_prompt_with_embedded_resource", {
    description: "Embeds the resource named by its argument",
    argsSchema: z.object({ resourceUri: z.string().describe("URI of the resource to embed") }),
  }, async ({ resourceUri }) => ({ messages: [
    { role: "user", content: { type: "resource", resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } } },
    { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
  ] }));
  server.registerPrompt("test_prompt_with_image", { description: "A prompt that contains an image" },
    async () => ({ messages: [
      { role: "user", content: { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ] }));
  return server;
}

const handler = createMcpHandler(() => build(handler), { legacy: "reject" });
serve(handler, { localhostOnly: true });
