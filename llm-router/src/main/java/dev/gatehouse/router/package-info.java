/**
 * The LLM router: OpenAI-compatible chat completions across providers. Its implementation lands
 * with the router issue.
 */
package dev.gatehouse.router;
