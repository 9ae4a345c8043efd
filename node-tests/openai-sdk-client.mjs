// Drives an OpenAI-compatible endpoint (the gateway's /v1, or the samples' scripted model) with the official
// `openai` npm package, unmodified, to prove that real SDK clients can talk to it, streamed and not.
//
// Usage: node openai-sdk-client.mjs <baseURL> <apiKey> <model> ['<json options>']
//
// Options (all optional):
//   message      user text of the single user message (default "hello")
//   messages     a whole conversation instead of `message`
//   tools        OpenAI tool objects, or plain names as shorthand for {type: "function", function: {name,
//                parameters: {type: "object"}}}
//   params       more request fields, e.g. {"tool_choice": "none", "max_completion_tokens": 5}
//   headers      extra request headers, e.g. {"X-Scripted-Session": "t1"}
//   maxRetries   the SDK's retries (default 0 here, so that faults show; the SDK's own default is 2)
//   timeoutMs    the SDK's request timeout (default 30000)
//   mode         "both" (default), "nonStream" or "stream": run only one of the two requests (the other is null);
//                "embeddings": run embeddings.create with `input` (and `params`) instead, printing {"embeddings": <result>}
//   input        the embeddings input: a string or an array of strings
//
// Runs (a) a non-streamed chat.completions.create and (b) the same request with stream: true and
// stream_options.include_usage, accumulating deltas as the SDK documents (content appended, tool calls merged
// by index), and prints one JSON object:
//   {"nonStream": <ChatCompletion>,
//    "stream": {"content", "toolCalls", "finishReason", "usage", "chunkCount", "ids": [distinct chunk ids]}}
// On failure it prints {"error": {"status", "message", "type", "code", "name", "body", "cause"}} on stdout, a line on stderr,
// and exits 1.
import OpenAI from "openai";

const [baseURL, apiKey, model, optionsJson] = process.argv.slice(2);
if (!baseURL || apiKey === undefined || !model) {
  console.error("usage: node openai-sdk-client.mjs <baseURL> <apiKey> <model> ['<json options>']");
  process.exit(2);
}

let options;
try {
  options = JSON.parse(optionsJson ?? "{}");
} catch (e) {
  console.error(`openai-sdk-client: options are not JSON: ${e.message}`);
  process.exit(2);
}

const tools = (options.tools ?? []).map((tool) =>
  typeof tool === "string"
    ? { type: "function", function: { name: tool, description: `tool ${tool}`, parameters: { type: "object" } } }
    : tool,
);
const request = {
  model,
  messages: options.messages ?? [{ role: "user", content: options.message ?? "hello" }],
  ...(tools.length > 0 ? { tools } : {}),
  ...(options.params ?? {}),
};

const mode = options.mode ?? "both";
if (!["both", "nonStream", "stream", "embeddings"].includes(mode)) {
  console.error(`openai-sdk-client: mode must be "both", "nonStream", "stream" or "embeddings", got ${JSON.stringify(mode)}`);
  process.exit(2);
}

const client = new OpenAI({
  baseURL,
  apiKey,
  maxRetries: options.maxRetries ?? 0,
  timeout: options.timeoutMs ?? 30_000,
  defaultHeaders: options.headers ?? {},
});

async function accumulateStream() {
  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = null;
  let finishReason = null;
  let usage = null;
  let chunkCount = 0;
  const ids = [];
  const toolCalls = [];
  for await (const chunk of stream) {
    chunkCount++;
    if (!ids.includes(chunk.id)) {
      ids.push(chunk.id);
    }
    if (chunk.usage) {
      usage = chunk.usage;
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (typeof delta.content === "string") {
        content = (content ?? "") + delta.content;
      }
      for (const part of delta.tool_calls ?? []) {
        const call = (toolCalls[part.index] ??= { id: undefined, type: undefined, function: { name: "", arguments: "" } });
        if (part.id) call.id = part.id;
        if (part.type) call.type = part.type;
        if (part.function?.name) call.function.name += part.function.name;
        if (part.function?.arguments) call.function.arguments += part.function.arguments;
      }
      if (choice.finish_reason) {
        finishReason = choice.finish_reason;
      }
    }
  }
  return { content, toolCalls, finishReason, usage, chunkCount, ids };
}

try {
  if (mode === "embeddings") {
    const embeddings = await client.embeddings.create({ model, input: options.input ?? "hello", ...(options.params ?? {}) });
    console.log(JSON.stringify({ embeddings }));
    process.exit(0);
  }
  const nonStream = mode === "stream" ? null : await client.chat.completions.create(request);
  const stream = mode === "nonStream" ? null : await accumulateStream();
  console.log(JSON.stringify({ nonStream, stream }));
} catch (e) {
  const error = {
    status: e?.status ?? null,
    message: e?.message ?? String(e),
    type: e?.type ?? e?.error?.type ?? null,
    code: e?.code ?? e?.error?.code ?? null,
    name: e?.constructor?.name ?? null,
    body: e?.error ?? null,
    cause: e?.cause?.message ?? null, // e.g. "other side closed" under fetch's "terminated"
  };
  console.log(JSON.stringify({ error }));
  console.error(`openai-sdk-client failed: ${error.message}`); // the SDK's message starts with the status
  process.exit(1);
}
