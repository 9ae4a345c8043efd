package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * OpenAI-compatible chat completions across providers. A request names its model as an alias or as
 * {@code provider/model}; the router translates it to the provider's wire format, picks a key by weight
 * (skipping keys that are cooling down or may not use the model), retries with backoff and jitter on
 * 429, 5xx, connection errors and timeouts, falls back along the request's, the caller's and the
 * provider's fallback chains, and translates the answer back, with normalised usage and its cost.
 *
 * <p>Calls block; run them on virtual threads. A router is thread-safe and holds connections and key
 * state: make one per configuration and {@link #close()} it when the configuration is replaced.
 */
public interface Router extends AutoCloseable {

  /** A router for {@code config}, using the system clock and real sleeps. */
  static Router create(RouterConfig config) {
    return new DefaultRouter(config, DefaultRouter.Env.system());
  }

  /**
   * A non-streaming chat completion.
   *
   * @param request the client's OpenAI {@code chat.completions} body; its {@code fallbacks} field, if any,
   *     is consumed (removed from this node); nothing else in it is changed
   * @param options fallbacks, a forced model and an allow filter from the gateway
   * @return the {@code chat.completion} and where it came from
   * @throws RouterException when the request is invalid, the model unknown or not allowed, a provider
   *     refused the request as malformed, or every route failed
   */
  ChatResult complete(ObjectNode request, RouteOptions options);

  /**
   * A streaming chat completion: each OpenAI chunk goes to {@code sink} as it is translated. Until the
   * first chunk is delivered, failures are retried and fallbacks tried as for {@link #complete}; after it,
   * the route is fixed and a failure ends the call with a {@link RouterException} (code
   * {@code stream_interrupted}). The usage chunk ({@code choices: []}) is delivered when the request asked
   * for it with {@code stream_options.include_usage}; {@code [DONE]} is the caller's to write.
   *
   * @throws RouterException as {@link #complete}, or when the stream broke after its first chunk
   */
  StreamResult stream(ObjectNode request, RouteOptions options, ChunkSink sink);

  /**
   * {@link #complete} without a waiting thread: the future completes with the result or fails with
   * the {@link RouterException}.
   */
  java.util.concurrent.CompletableFuture<ChatResult> completeAsync(ObjectNode request, RouteOptions options);

  /**
   * {@link #stream} run on the router's own (virtual) threads: the future completes when the stream
   * ended, or fails with the {@link RouterException}, or the sink's own exception.
   */
  java.util.concurrent.CompletableFuture<StreamResult> streamAsync(ObjectNode request, RouteOptions options, ChunkSink sink);

  /**
   * Embeddings ({@code POST /v1/embeddings}): the client's OpenAI {@code embeddings} body routed like a
   * chat completion (aliases, keys, retries, fallbacks) to providers that offer them (OpenAI, Azure
   * OpenAI, the OpenAI-compatible family); the answer is the provider's {@code list}, usage counts input
   * tokens only.
   *
   * @throws RouterException as {@link #complete}; 400 {@code embeddings_unsupported} when the model's
   *     provider is another kind
   */
  ChatResult embed(ObjectNode request, RouteOptions options);

  /** Whether {@code route}'s model has a price (configured or built in); an unpriced one costs 0 and is reported. */
  boolean priced(Route route);

  /** What {@code GET /v1/models} lists: aliases first, then each provider's known models. */
  List<ModelInfo> models();

  /** Stops every provider connection; calls in flight fail. */
  @Override
  void close();
}
