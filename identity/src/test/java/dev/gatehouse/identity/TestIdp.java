package dev.gatehouse.identity;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A hand-written OIDC provider on 127.0.0.1: a discovery document and a JWKS whose keys, status and
 * body the test controls, counting every request. Also usable as a plain URL that must never be called
 * ({@link #hits()} stays 0).
 */
final class TestIdp implements AutoCloseable {
  /** A canned answer in place of the normal one. */
  record Answer(int status, String body, String location) {
    static Answer of(int status, String body) {
      return new Answer(status, body, null);
    }
  }

  private final HttpServer server;
  final String issuer;
  final AtomicInteger discoveryHits = new AtomicInteger();
  final AtomicInteger jwksHits = new AtomicInteger();
  final AtomicInteger otherHits = new AtomicInteger();
  volatile JWKSet jwks = new JWKSet();
  volatile Answer jwksAnswer;
  /** While set, JWKS requests are accepted and never answered (a hung IdP) until the IdP closes. */
  volatile boolean jwksHangs;
  private final java.util.concurrent.CountDownLatch closing = new java.util.concurrent.CountDownLatch(1);
  volatile Answer discoveryAnswer;
  volatile String discoveredIssuer;
  volatile String discoveredJwksUri;

  private TestIdp(String path) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    issuer = "http://127.0.0.1:" + server.getAddress().getPort() + path;
    server.createContext("/", this::handle);
    server.start();
  }

  static TestIdp start(JWK... keys) throws IOException {
    TestIdp idp = new TestIdp("/idp");
    idp.serve(keys);
    return idp;
  }

  static TestIdp start(String path, JWK... keys) throws IOException {
    TestIdp idp = new TestIdp(path);
    idp.serve(keys);
    return idp;
  }

  /** Serve these keys (public parts only) from now on. */
  void serve(JWK... keys) {
    jwks = new JWKSet(List.of(keys)).toPublicJWKSet();
    jwksAnswer = null;
  }

  URI jwksUri() {
    return URI.create(base() + "/jwks");
  }

  URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  int hits() {
    return discoveryHits.get() + jwksHits.get() + otherHits.get();
  }

  /** This issuer with discovery, http allowed (loopback), audience {@link Tokens#AUDIENCE}. */
  IssuerConfig config() {
    return IssuerConfig.of(issuer, Tokens.AUDIENCE, true);
  }

  private String base() {
    return issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String base = URI.create(base()).getPath();
      if (path.equals(base + "/.well-known/openid-configuration")) {
        discoveryHits.incrementAndGet();
        Answer a = discoveryAnswer;
        if (a != null) {
          answer(ex, a);
          return;
        }
        String iss = discoveredIssuer == null ? issuer : discoveredIssuer;
        String jwksUri = discoveredJwksUri == null ? jwksUri().toString() : discoveredJwksUri;
        answer(ex, Answer.of(200, "{\"issuer\":\"" + iss + "\",\"jwks_uri\":\"" + jwksUri
            + "\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}"));
      } else if (path.equals(base + "/jwks")) {
        jwksHits.incrementAndGet();
        if (jwksHangs) {
          try {
            closing.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return;
        }
        Answer a = jwksAnswer;
        answer(ex, a != null ? a : Answer.of(200, jwks.toString()));
      } else {
        otherHits.incrementAndGet();
        answer(ex, Answer.of(404, "{}"));
      }
    }
  }

  private static void answer(HttpExchange ex, Answer a) throws IOException {
    byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    if (a.location() != null) {
      ex.getResponseHeaders().set("Location", a.location());
    }
    ex.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      ex.getResponseBody().write(body);
    }
  }

  @Override
  public void close() {
    closing.countDown();
    server.stop(0);
  }
}
