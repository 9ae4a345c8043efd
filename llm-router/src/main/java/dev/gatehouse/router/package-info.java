/**
 * The LLM router: OpenAI-compatible chat completions across providers.
 *
 * <p>The public surface is {@link dev.gatehouse.router.Router} (created by
 * {@link dev.gatehouse.router.Router#create}), its configuration records
 * ({@link dev.gatehouse.router.RouterConfig}, {@link dev.gatehouse.router.ProviderConfig},
 * {@link dev.gatehouse.router.ProviderKind}), the per-call {@link dev.gatehouse.router.RouteOptions}, the
 * results ({@link dev.gatehouse.router.ChatResult}, {@link dev.gatehouse.router.StreamResult},
 * {@link dev.gatehouse.router.Route}, {@link dev.gatehouse.router.Usage},
 * {@link dev.gatehouse.router.Attempt}, {@link dev.gatehouse.router.ModelInfo}), the
 * {@link dev.gatehouse.router.ChunkSink} a stream is written to, and the one exception family,
 * {@link dev.gatehouse.router.RouterException}. Everything else is package-private: the wire-format
 * adapters (OpenAI and its compatible family including Azure, Anthropic Messages, Gemini
 * {@code generateContent}, Bedrock Converse), the retry loop, key state, the stream assembler, pricing.
 *
 * <p>The module knows nothing of identities, policies, budgets or HTTP serving: the gateway decides
 * whether a caller may use a model, passes fallbacks and a forced model in {@code RouteOptions}, writes
 * the response (and the {@code data: [DONE]} line of a stream), and records usage and cost.
 */
package dev.gatehouse.router;
