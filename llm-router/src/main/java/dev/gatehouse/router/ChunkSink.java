package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Receives a stream's OpenAI {@code chat.completion.chunk} objects in order, on the calling thread. The
 * gateway writes each as a {@code data: } line and, when {@link Router#stream} returns, {@code data: [DONE]}.
 * An exception thrown here (the client went away) aborts the provider call and propagates unchanged.
 */
@FunctionalInterface
public interface ChunkSink {
  /**
   * Called once, right before the first chunk: the route is now fixed for this stream, so the gateway
   * can write its response headers (provider, model, key id, attempts) before any body.
   *
   * @param route the provider, model and key that answer
   * @param attempts the attempts made so far, this one included
   */
  default void onStart(Route route, int attempts) {}

  /** One chunk; the router does not touch it afterwards. */
  void onChunk(ObjectNode chunk);
}
