package dev.gatehouse.router;

import dev.gatehouse.http.BodyBuffer;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.io.Content;

/**
 * A non-streaming provider answer, collected on the HTTP client's thread (asking for more right
 * there, without waking its selector) and handed over whole: the caller waits once, for the end of
 * the answer, instead of once for its head and again for its body.
 */
final class WholeBody implements Response.Listener, ProviderExchange {
  private final CompletableFuture<Response> done = new CompletableFuture<>();
  private final BodyBuffer body;
  private volatile Request request;

  WholeBody(int maxBytes) {
    this.body = new BodyBuffer(maxBytes, "the provider's answer");
  }

  @Override
  public void send(Request r) {
    this.request = r;
    r.send(this);
  }

  /** Waits until the whole answer is in, at most until {@code deadline} ({@link System#nanoTime()} terms). */
  @Override
  public Response head(long deadline) throws BodyStream.Timeout, ExecutionException, InterruptedException {
    try {
      return done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      abort(new IOException("no complete answer in time"));
      throw new BodyStream.Timeout("no complete answer in time");
    } catch (InterruptedException e) {
      abort(new IOException("interrupted"));
      throw e;
    }
  }

  /** Completes with the response once the whole answer is in (the request's own timeout bounds it). */
  CompletableFuture<Response> answer() {
    return done;
  }

  /** The answer's bytes, once {@link #head} returned. */
  byte[] bytes() {
    return body.bytes();
  }

  private void abort(Throwable cause) {
    Request r = request;
    if (r != null) {
      r.abort(cause);
    }
  }

  @Override
  public void onHeaders(Response response) {
    body.headers(response);
  }

  @Override
  public void onContent(Response response, Content.Chunk chunk, Runnable demander) {
    body.content(response, chunk, demander);
  }

  @Override
  public void onSuccess(Response response) {
    done.complete(response);
  }

  @Override
  public void onComplete(Result result) {
    if (result.isFailed()) {
      done.completeExceptionally(result.getFailure());
    }
  }
}
