package dev.gatehouse.identity;

import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches discovery documents and JWKS for Nimbus. It follows no redirects (a redirect could lead a
 * trusted URL to an untrusted host), accepts only 200, and bounds the whole exchange by a deadline and
 * the body by a size limit. The URLs it is given were checked before (https, or http to a loopback
 * host where the issuer allows it): configured ones by the config records, discovered ones by the
 * issuer's verifier. Thread-safe; one instance serves every issuer.
 */
final class HttpFetcher implements ResourceRetriever, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpFetcher.class);

  private final HttpClient client;
  private final FetchSettings settings;
  private volatile boolean closed;

  HttpFetcher(FetchSettings settings) {
    this.settings = settings;
    this.client = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(settings.connectTimeout())
        .build();
  }

  /** Nimbus' entry point for JWKS; the URL was checked when the issuer's key source was built. */
  @Override
  public Resource retrieveResource(URL url) throws IOException {
    URI uri;
    try {
      uri = url.toURI();
    } catch (URISyntaxException e) {
      throw new FetchFailed("invalid JWKS URL", e);
    }
    return new Resource(fetch(uri), "application/json");
  }

  /** The body of a 200 response to GET {@code uri}, as UTF-8. */
  String fetch(URI uri) throws IOException {
    if (closed) {
      throw new FetchFailed("closed");
    }
    HttpRequest request = HttpRequest.newBuilder(uri)
        .timeout(settings.requestTimeout())
        .header("Accept", "application/json, application/jwk-set+json")
        .GET()
        .build();
    int max = settings.maxResponseBytes();
    CompletableFuture<HttpResponse<byte[]>> exchange = client.sendAsync(request,
        info -> info.statusCode() == 200 ? new CappedBody(max) : HttpResponse.BodySubscribers.replacing(new byte[0]));
    HttpResponse<byte[]> response;
    try {
      // HttpRequest.timeout stops at the headers; this deadline also covers a body that trickles in.
      response = exchange.get(settings.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      exchange.cancel(true);
      throw failed(uri, new FetchFailed("timed out after " + Checks.format(settings.requestTimeout()), e));
    } catch (InterruptedException e) {
      exchange.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while fetching " + uri);
    } catch (ExecutionException e) {
      throw failed(uri, describe(e.getCause()));
    }
    int status = response.statusCode();
    if (status >= 300 && status < 400) {
      throw failed(uri, new FetchFailed("redirect (HTTP " + status + ") not followed"));
    }
    if (status != 200) {
      throw failed(uri, new FetchFailed("HTTP " + status));
    }
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  private static FetchFailed describe(Throwable cause) {
    if (cause instanceof FetchFailed f) {
      return f;
    }
    if (cause instanceof HttpConnectTimeoutException) {
      return new FetchFailed("connect timed out", cause);
    }
    if (cause instanceof HttpTimeoutException) {
      return new FetchFailed("timed out", cause);
    }
    if (cause instanceof ConnectException) {
      return new FetchFailed("connection refused", cause);
    }
    return new FetchFailed("network error (" + (cause == null ? "unknown" : cause.getClass().getSimpleName()) + ")", cause);
  }

  private static FetchFailed failed(URI uri, FetchFailed failure) {
    log.warn("GET {} failed: {}", uri, failure.getMessage());
    return failure;
  }

  @Override
  public void close() {
    closed = true;
    client.shutdownNow();
  }

  /** Collects a body up to a limit; past it, cancels the download and fails. */
  private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final int limit;
    private Flow.Subscription subscription;

    CappedBody(int limit) {
      this.limit = limit;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer b : items) {
        if (buffer.size() + b.remaining() > limit) {
          subscription.cancel();
          result.completeExceptionally(new FetchFailed("response larger than " + limit + " bytes"));
          return;
        }
        byte[] chunk = new byte[b.remaining()];
        b.get(chunk);
        buffer.writeBytes(chunk);
      }
    }

    @Override
    public void onError(Throwable throwable) {
      result.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      result.complete(buffer.toByteArray());
    }
  }
}
