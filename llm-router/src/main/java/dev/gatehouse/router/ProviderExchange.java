package dev.gatehouse.router;

import java.util.concurrent.ExecutionException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;

/** One request to a provider as the router sends it and waits for its response. */
interface ProviderExchange {
  /** Sends {@code r} with this as its response listener. */
  void send(Request r);

  /**
   * Waits until {@code deadline} ({@link System#nanoTime()} terms) for the response.
   *
   * @throws BodyStream.Timeout when it does not come in time
   * @throws ExecutionException with the client's failure (connect refused or timed out, reset)
   */
  Response head(long deadline) throws BodyStream.Timeout, ExecutionException, InterruptedException;
}
