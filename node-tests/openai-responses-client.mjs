// Drives the gateway's /v1/responses with the official `openai` npm package, unmodified.
//
// Usage: node openai-responses-client.mjs <baseURL> <apiKey> <model> ['<json options>']
//
// Options (all optional):
//   message       the user's input text (default "hello")
//   instructions  the request's instructions
//   tools         function names the client declares (parameters: an object with an `expression` string)
//   results       {toolName: output text} for the round trip (default "42")
//   headers       extra request headers
//   continueWith  "previous" (default): the round trip's second request continues with previous_response_id
//                 and sends only the function_call_output items; "items": it sends the whole conversation
//                 (input, the function calls, their outputs) with store: false
//
// Runs (a) responses.create and (b) responses.stream(...).finalResponse(), each followed, when the model
// called functions, by a second request with their outputs; prints
// {"create": {"first", "final"}, "stream": {"first", "final", "events": [event types of the first stream]}}.
// On failure: {"error": {"status", "code", "message"}} on stdout, exit 1.
import OpenAI from "openai";

const [baseURL, apiKey, model, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? "{}");
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000, defaultHeaders: options.headers ?? {} });

const tools = (options.tools ?? []).map((name) => ({
  type: "function",
  name,
  description: `tool ${name}`,
  parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"], additionalProperties: false },
  strict: false,
}));
const base = {
  model,
  ...(options.instructions ? { instructions: options.instructions } : {}),
  ...(tools.length > 0 ? { tools } : {}),
};
const input = [{ role: "user", content: options.message ?? "hello" }];

function outputs(response) {
  return response.output
    .filter((item) => item.type === "function_call")
    .map((call) => ({ type: "function_call_output", call_id: call.call_id, output: (options.results ?? {})[call.name] ?? "42" }));
}

async function roundTrip(send) {
  const first = await send({ ...base, input });
  const results = outputs(first.response);
  if (results.length === 0) {
    return { first: first.response, final: null, events: first.events };
  }
  const next = (options.continueWith ?? "previous") === "previous"
    ? { ...base, previous_response_id: first.response.id, input: results }
    : { ...base, store: false, input: [...input, ...first.response.output.filter((i) => i.type === "function_call"), ...results] };
  const again = await send(next);
  return { first: first.response, final: again.response, events: first.events };
}

try {
  const create = await roundTrip(async (request) => ({ response: await client.responses.create(request) }));
  const stream = await roundTrip(async (request) => {
    const events = [];
    const s = client.responses.stream(request);
    for await (const event of s) {
      events.push(event.type);
    }
    return { response: await s.finalResponse(), events };
  });
  // output_text is the SDK's own convenience, computed from the output items.
  create.firstText = create.first.output_text;
  stream.firstText = stream.first.output_text;
  create.finalText = create.final?.output_text ?? null;
  stream.finalText = stream.final?.output_text ?? null;
  console.log(JSON.stringify({ create, stream }));
} catch (e) {
  const error = { status: e?.status ?? null, code: e?.code ?? null, message: e?.message ?? String(e) };
  console.log(JSON.stringify({ error }));
  console.error(`openai-responses-client failed: ${error.message}`);
  process.exit(1);
}
