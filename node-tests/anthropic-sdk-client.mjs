// Drives the gateway's /v1/messages with the official `@anthropic-ai/sdk` npm package, unmodified: only
// its base URL points at the gateway, as ANTHROPIC_BASE_URL would.
//
// Usage: node anthropic-sdk-client.mjs <baseURL> <apiKey> <model> ['<json options>']
//
// Options (all optional):
//   message   the user's text (default "hello")
//   tools     tool names the client declares (input schema: an object); with tools, each request is a
//             round trip: the model's tool_use blocks are answered with tool_result blocks whose content
//             is results[name] (default "42"), and the model is asked again
//   results   {toolName: result text}
//   headers   extra request headers (e.g. {"x-gatehouse-tools": "tools__*"})
//   maxTokens max_tokens (default 256)
//
// Runs (a) messages.create and (b) messages.stream(...).finalMessage(), each with its round trip, and
// prints {"create": {"first", "final"}, "stream": {"first", "final", "events": [event types of the first stream]}}.
// On failure: {"error": {"status", "type", "message", "body"}} on stdout, exit 1.
import Anthropic from "@anthropic-ai/sdk";

const [baseURL, apiKey, model, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? "{}");
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 30_000, defaultHeaders: options.headers ?? {} });

const tools = (options.tools ?? []).map((name) => ({
  name,
  description: `tool ${name}`,
  input_schema: { type: "object", properties: { expression: { type: "string" } } },
}));
const base = {
  model,
  max_tokens: options.maxTokens ?? 256,
  ...(tools.length > 0 ? { tools } : {}),
};
const question = [{ role: "user", content: options.message ?? "hello" }];

function answers(message) {
  return message.content
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ type: "tool_result", tool_use_id: b.id, content: (options.results ?? {})[b.name] ?? "42" }));
}

async function roundTrip(send) {
  const first = await send(question);
  const results = answers(first.message);
  if (results.length === 0) {
    return { first: first.message, final: null, events: first.events };
  }
  const again = await send([...question, { role: "assistant", content: first.message.content }, { role: "user", content: results }]);
  return { first: first.message, final: again.message, events: first.events };
}

try {
  const create = await roundTrip(async (messages) => ({ message: await client.messages.create({ ...base, messages }) }));
  const stream = await roundTrip(async (messages) => {
    const events = [];
    const s = client.messages.stream({ ...base, messages });
    s.on("streamEvent", (e) => events.push(e.type));
    const message = await s.finalMessage();
    return { message, events };
  });
  console.log(JSON.stringify({ create, stream }));
} catch (e) {
  const error = { status: e?.status ?? null, type: e?.error?.error?.type ?? null, message: e?.message ?? String(e), body: e?.error ?? null };
  console.log(JSON.stringify({ error }));
  console.error(`anthropic-sdk-client failed: ${error.message}`);
  process.exit(1);
}
