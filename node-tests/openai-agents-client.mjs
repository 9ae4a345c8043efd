// Runs a one-tool agent of the OpenAI Agents SDK (`@openai/agents`), unmodified, against the gateway:
// its OpenAI client's base URL points at the gateway's /v1, it speaks the Responses API (the SDK's
// default), and tracing, which would export to OpenAI, is off. The agent's tool is a calculator the SDK
// runs itself; the model proposes the call, the SDK runs it and asks the model again.
//
// Usage: node openai-agents-client.mjs <baseURL> <apiKey> <model> <question>
//
// Prints {"finalOutput", "calls": [the tool calls the SDK ran, as {expression, result}], "items": [types of
// the run's new items]}. On failure: {"error": {"status", "message"}} on stdout, exit 1.
import OpenAI from "openai";
import { Agent, run, tool, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from "@openai/agents";
import { z } from "zod";

const [baseURL, apiKey, model, question] = process.argv.slice(2);
setDefaultOpenAIClient(new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 }));
setOpenAIAPI("responses");
setTracingDisabled(true);

const calls = [];
const calc = tool({
  name: "calc",
  description: "Evaluates an arithmetic expression",
  parameters: z.object({ expression: z.string() }),
  execute: async ({ expression }) => {
    if (!/^[\d\s+\-*/().]+$/.test(expression)) {
      throw new Error(`not arithmetic: ${expression}`);
    }
    const result = String(Function(`"use strict"; return (${expression});`)());
    calls.push({ expression, result });
    return result;
  },
});

const agent = new Agent({ name: "calculator", instructions: "Use the calculator for arithmetic.", model, tools: [calc] });

try {
  const result = await run(agent, question, { maxTurns: 4 });
  console.log(JSON.stringify({ finalOutput: result.finalOutput, calls, items: result.newItems.map((i) => i.type) }));
} catch (e) {
  console.log(JSON.stringify({ error: { status: e?.status ?? null, message: e?.message ?? String(e) } }));
  console.error(`openai-agents-client failed: ${e?.stack ?? e}`);
  process.exit(1);
}
