// The server the MCP conformance suite's 2026-07-28 requirements expect to find
// (conformance 0.2.0-alpha, `server --requirements 2026-07-28`), speaking that revision natively: built
// on the TypeScript SDK v2 server package. Names, texts and shapes follow the scenario descriptions
// printed by the suite; the multi round-trip tools (test_input_required_result_*) answer with
// resultType "input_required" under the input keys the scenarios name, their requestState sealed with
// an HMAC (so a tampered one is refused). The gateway's tests run the suite against this fixture
// directly and through /mcp/<server>, and compare.
// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663), which the SDK does not implement, is
// served by a small layer in front of the SDK's handler: its tools (greet is plain; slow_compute,
// failing_job, protocol_error_job, confirm_delete, multi_input and test_tool_with_task create tasks for
// a request that declares the extension), tasks/get, tasks/update and tasks/cancel, and the extension
// in server/discover.
// Usage: node conformance-2026-fixture.mjs   -> prints "listening on http://127.0.0.1:<port>/mcp".
import { randomBytes, randomUUID } from "node:crypto";
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
    description: "Declares JSON Schema 2020-12 keywords that must reach clients intact (SEP-1613, SEP-2106).",
    inputSchema: fromJsonSchema({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object",
      $defs: { address: { $anchor: "addressDef", type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" },
        contactMethod: { type: "string", enum: ["phone", "email"] }, phone: { type: "string" }, email: { type: "string" } },
      allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
      if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
      then: { required: ["phone"] }, else: { required: ["email"] },
      additionalProperties: false }),
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

  // ---- tools of the tasks extension: listed here, run as tasks by the layer below ---------------------
  server.registerTool("greet", { description: "Greets by name (never a task).", inputSchema: z.object({ name: z.string() }) },
    async ({ name }) => text(`Hello, ${name}!`));
  server.registerTool("slow_compute", {
    description: "Sleeps `seconds`, then answers; a task when the request declares the tasks extension.",
    inputSchema: z.object({ seconds: z.number().min(0).max(120), label: z.string().optional() }),
    execution: { taskSupport: "optional" },
  }, async ({ seconds, label }, ctx) => {
    await sleep(seconds * 1000, ctx.mcpReq.signal);
    return text(`computed ${label ?? ""} after ${seconds}s`.replace("  ", " "));
  });
  // Without the extension, confirm_delete asks as a multi round-trip and answers at once.
  server.registerTool("confirm_delete", {
    description: "Asks to confirm deleting `filename`, then answers; a task when the request declares the tasks extension.",
    inputSchema: z.object({ filename: z.string() }),
    execution: { taskSupport: "optional" },
  }, async ({ filename }, ctx) => {
    const reply = acceptedContent(ctx.mcpReq.inputResponses, "confirm");
    return reply ? text(reply.confirm !== false ? `deleted ${filename}` : `kept ${filename}`)
      : inputRequired({ inputRequests: { confirm: elicit(`Delete ${filename}?`, {
        type: "object", properties: { confirm: { type: "boolean" } }, required: ["confirm"] }) } });
  });
  for (const [name, description] of Object.entries(TASK_ONLY)) {
    server.registerTool(name, { description, inputSchema: fromJsonSchema({ type: "object", properties: {
      filename: { type: "string" } } }), execution: { taskSupport: "required" } }, async () => text("runs as a task only"));
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

// ---- the tasks extension ---------------------------------------------------------------------------

const TASKS = "io.modelcontextprotocol/tasks";
const TASK_TTL_MS = 300_000;
const POLL_MS = 200;
const MAX_TASKS = 1000;
/** Tools that only run as tasks (taskSupport "required"), with their descriptions. */
const TASK_ONLY = {
  failing_job: "Fails after about a second (an isError result).",
  protocol_error_job: "Ends in a protocol error.",
  multi_input: "Asks two questions at once, then answers.",
  test_tool_with_task: "Asks the user's name (multi round-trip), then finishes as a task that greets them.",
};
const tasks = new Map();

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); });
  });
}

/** A task's state as tasks/get (and CreateTaskResult) show it. */
function view(t) {
  const v = { taskId: t.taskId, status: t.status, createdAt: t.createdAt, lastUpdatedAt: t.lastUpdatedAt, ttlMs: TASK_TTL_MS,
    pollIntervalMs: POLL_MS };
  if (t.status === "input_required") v.inputRequests = { ...t.pending };
  if (t.status === "completed") v.result = t.result;
  if (t.status === "failed") v.error = t.error;
  return v;
}

function settle(t, status, fields) {
  if (["completed", "failed", "cancelled"].includes(t.status)) return;
  Object.assign(t, fields, { status, lastUpdatedAt: new Date().toISOString() });
}

/** Starts a task running {@code work(task)}, a promise of the tool result (or a throw: a protocol error). */
function startTask(work) {
  for (const [id, t] of tasks) {
    if (tasks.size < MAX_TASKS && Date.now() - Date.parse(t.createdAt) < TASK_TTL_MS) break;
    tasks.delete(id);
  }
  const now = new Date().toISOString();
  const t = { taskId: randomUUID(), status: "working", createdAt: now, lastUpdatedAt: now, pending: {}, answers: {},
    abort: new AbortController(), waiting: undefined };
  /** Parks the task on input: resolves with every answer once all of {@code requests} are answered. */
  t.ask = (requests) => new Promise((resolve) => {
    t.pending = { ...requests };
    t.waiting = () => {
      if (Object.keys(t.pending).length === 0) {
        t.waiting = undefined;
        settle(t, "working", {});
        resolve(t.answers);
      }
    };
    settle(t, "input_required", {});
  });
  tasks.set(t.taskId, t);
  work(t).then((result) => settle(t, "completed", { result: { ...result, resultType: "complete" } }),
    (e) => settle(t, "failed", { error: { code: -32603, message: String(e?.message ?? e) } }));
  return { resultType: "task", ...view(t) };
}

const TASK_WORK = {
  slow_compute: async ({ seconds = 0, label }, t) => {
    await sleep(Number(seconds) * 1000, t.abort.signal);
    return text(`computed ${label ?? ""} after ${seconds}s`.replace("  ", " "));
  },
  failing_job: async (_args, t) => {
    await sleep(1000, t.abort.signal);
    return { isError: true, content: [{ type: "text", text: "the job failed" }] };
  },
  protocol_error_job: async () => {
    await sleep(100);
    throw new Error("the job crashed");
  },
  confirm_delete: async ({ filename }, t) => {
    const a = await t.ask({ [`confirm-${randomUUID()}`]: elicit(`Delete ${filename}?`, {
      type: "object", properties: { confirm: { type: "boolean" } }, required: ["confirm"] }) });
    const reply = Object.values(a)[0];
    return text(reply?.action === "accept" && reply.content?.confirm !== false ? `deleted ${filename}` : `kept ${filename}`);
  },
  multi_input: async (_args, t) => {
    const a = await t.ask({ [`first-${randomUUID()}`]: elicit("First question: your name?", nameSchema("name")),
      [`second-${randomUUID()}`]: elicit("Second question: your colour?", nameSchema("name")) });
    return text(`answers: ${Object.values(a).map((r) => r?.content?.name).join(", ")}`);
  },
};

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const rpcError = (id, status, code, message, data) => json(status, { jsonrpc: "2.0", id, error: { code, message, ...(data ? { data } : {}) } });
const rpcResult = (id, result) => json(200, { jsonrpc: "2.0", id, result });

/** The layer in front of the SDK's handler that serves the tasks extension. */
async function tasksLayer(request, next) {
  if (request.method !== "POST") return next(request);
  let msg;
  try {
    msg = await request.clone().json();
  } catch {
    return next(request);
  }
  const method = msg?.method;
  const params = msg?.params ?? {};
  const isTaskMethod = ["tasks/get", "tasks/update", "tasks/cancel"].includes(method);
  const isTaskTool = method === "tools/call" && (TASK_WORK[params.name] || TASK_ONLY[params.name]);
  if (method === "server/discover") {
    const response = await next(request);
    const body = await response.json();
    if (body.result) body.result.capabilities = { ...body.result.capabilities, extensions: { [TASKS]: {} } };
    return json(response.status, body);
  }
  if (!isTaskMethod && !isTaskTool) return next(request);
  const meta = params._meta ?? {};
  const version = meta["io.modelcontextprotocol/protocolVersion"];
  const caps = meta[CLIENT_CAPABILITIES_META_KEY];
  if (version !== "2026-07-28" || caps === undefined) return next(request); // the SDK answers envelope errors
  const nameField = isTaskMethod ? "taskId" : "name";
  if (request.headers.get("mcp-protocol-version") !== version || request.headers.get("mcp-method") !== method
      || request.headers.get("mcp-name") !== String(params[nameField])) {
    return rpcError(msg.id, 400, -32020, `Header mismatch: MCP-Protocol-Version, Mcp-Method and Mcp-Name must mirror the body`);
  }
  const declared = caps?.extensions?.[TASKS] !== undefined;
  if (!declared && (isTaskMethod || TASK_ONLY[params.name])) {
    return rpcError(msg.id, 400, -32021, `Missing required client capability: extensions.${TASKS}`,
      { requiredCapabilities: { extensions: { [TASKS]: {} } } });
  }
  if (isTaskTool) {
    if (!declared) return next(request); // slow_compute and confirm_delete run synchronously
    const args = params.arguments ?? {};
    if (params.name === "test_tool_with_task") {
      const reply = acceptedContent(params.inputResponses, "user_name");
      if (typeof reply?.name !== "string") {
        return rpcResult(msg.id, { resultType: "input_required",
          inputRequests: { user_name: elicit("What is your name?", nameSchema("name")) } });
      }
      return rpcResult(msg.id, startTask(async () => text(`Hello, ${reply.name}! (finished as a task)`)));
    }
    return rpcResult(msg.id, startTask((t) => TASK_WORK[params.name](args, t)));
  }
  const t = typeof params.taskId === "string" ? tasks.get(params.taskId) : undefined;
  if (!t) return rpcError(msg.id, 200, -32602, "Failed to retrieve task: Task not found");
  if (method === "tasks/get") return rpcResult(msg.id, { resultType: "complete", ...view(t) });
  if (method === "tasks/update") {
    for (const [k, v] of Object.entries(params.inputResponses ?? {})) {
      if (k in t.pending) {
        delete t.pending[k];
        t.answers[k] = v;
      }
    }
    t.waiting?.();
    return rpcResult(msg.id, { resultType: "complete" });
  }
  t.abort.abort();
  settle(t, "cancelled", {});
  return rpcResult(msg.id, { resultType: "complete" });
}

const sdk = createMcpHandler(() => build(handler), { legacy: "reject" });
const handler = { fetch: (request) => tasksLayer(request, sdk.fetch), notify: sdk.notify };
serve(handler, { localhostOnly: true });
