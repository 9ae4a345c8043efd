package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bearer tokens the gateway sends one upstream. Its own ({@code client_credentials}, and for a
 * {@code token_exchange} upstream the connection's own requests): got from
 * the authorization server's token endpoint (named, or found in its RFC 8414 / OpenID Connect metadata),
 * kept until shortly before it expires, refreshed then by the first request that notices, one fetch at
 * a time (single flight: concurrent requests share it). A token the upstream refused (401) is dropped
 * so that the next request fetches a new one.
 *
 * <p>{@code token_exchange}: a caller's call carries a token exchanged (RFC 8693) at the authorization
 * server for the caller's own validated access token, with the upstream as audience: the upstream sees
 * the user, the caller's token never leaves for the upstream. Exchanged tokens are kept per presented
 * token (by its SHA-256) until shortly before they expire, at most {@value #MAX_EXCHANGED}, one exchange
 * at a time per token. A caller without an access token (an API key) cannot be acted for: refused.
 *
 * <p>No token value and no client secret is logged or put in an error message.
 */
final class UpstreamTokens {
  private static final Logger log = LoggerFactory.getLogger(UpstreamTokens.class);
  /** Used when the token endpoint gives no {@code expires_in}. */
  static final Duration DEFAULT_LIFETIME = Duration.ofMinutes(5);
  /** Largest token response read. */
  private static final int MAX_RESPONSE_BYTES = 64 * 1024;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  /** Most exchanged tokens kept: the least recently used go first. */
  static final int MAX_EXCHANGED = 10_000;
  static final String TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
  static final String ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

  private final String upstream;
  private final UpstreamConfig.Auth auth;
  private final UpstreamHttp http;
  private final LongSupplier nanos;
  private final java.util.function.Consumer<UpstreamTokenEvent> events;

  /** A token and when to stop using it (nanoTime), and when to start replacing it; {@code detail} says whence (never the value). */
  private record Token(String value, long refreshAt, long expiresAt, String detail) {}

  private void emit(String outcome, String grant, String detail) {
    if (outcome.equals("failed")) {
      lastFailure = detail;
    }
    try {
      events.accept(new UpstreamTokenEvent(outcome, grant, detail));
    } catch (RuntimeException e) {
      log.warn("upstream '{}': token event listener failed: {}", upstream, e.toString());
    }
  }

  private volatile Token current;
  /** The fetch in flight, if any: every request that needs a token meanwhile waits on it. */
  private CompletableFuture<Token> fetching;
  private volatile URI tokenEndpoint;
  private volatile long fetches;
  /** Exchanged tokens by the SHA-256 of the caller's token; and the exchanges in flight. Guarded by {@code this}. */
  private final java.util.LinkedHashMap<String, Token> exchanged = new java.util.LinkedHashMap<>(16, 0.75f, true);
  private final java.util.Map<String, CompletableFuture<Token>> exchanging = new java.util.HashMap<>();

  UpstreamTokens(String upstream, UpstreamConfig.Auth auth, UpstreamHttp http, LongSupplier nanos) {
    this(upstream, auth, http, nanos, e -> { });
  }

  UpstreamTokens(String upstream, UpstreamConfig.Auth auth, UpstreamHttp http, LongSupplier nanos,
      java.util.function.Consumer<UpstreamTokenEvent> events) {
    this(upstream, auth, http, nanos, events, () -> UserTokens.NONE);
  }

  /** The users' tokens, for a {@code user_consent} upstream (the gateway keeps them). */
  private final java.util.function.Supplier<UserTokens> users;

  private boolean consent() {
    return auth.mode().equals(UpstreamConfig.Auth.USER_CONSENT);
  }

  /** For a call of a user of a user_consent upstream refused with 403 insufficient_scope: the step-up consent error, if any. */
  java.util.Optional<McpException> insufficientScope(java.util.Optional<CallContext.Caller> caller, String challenge) {
    if (!consent() || caller.isEmpty() || caller.get().principal().isEmpty() || challenge == null || !challenge.contains("insufficient_scope")) {
      return java.util.Optional.empty();
    }
    return users.get().insufficientScope(upstream, caller.get().principal().get(), challenge);
  }

  /** A user_consent upstream for which no user's consent is held now. */
  boolean waitingForConsent() {
    return consent() && users.get().anyToken(upstream).isEmpty();
  }

  UpstreamTokens(String upstream, UpstreamConfig.Auth auth, UpstreamHttp http, LongSupplier nanos,
      java.util.function.Consumer<UpstreamTokenEvent> events, java.util.function.Supplier<UserTokens> users) {
    this.users = users;
    this.events = events;
    this.upstream = upstream;
    this.auth = auth;
    this.http = http;
    this.nanos = nanos;
    this.tokenEndpoint = auth.tokenUrl();
  }

  /**
   * A token to send now: the cached one while fresh; past its refresh point, the cached one still while
   * a new one is fetched in the background; expired or absent, the fetch's result. Fails with an
   * {@link McpException} saying why no token could be had.
   */
  CompletableFuture<String> token() {
    if (consent()) {
      // The gateway's own requests (connecting, lists) go with the token of a user who consented: read
      // (and perhaps refreshed) on a virtual thread, since the caller may be an HTTP client's thread.
      return CompletableFuture.supplyAsync(() -> users.get().anyToken(upstream), r -> Thread.ofVirtual().start(r))
          .thenCompose(t -> t.map(CompletableFuture::completedFuture).orElseGet(() -> CompletableFuture.failedFuture(
              new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "' acts for each user with their consent "
                  + "(auth.mode: user_consent), and no user has consented yet: a user connects with POST /v1/upstreams/" + upstream
                  + "/consent"))));
    }
    Token t = current;
    long now = nanos.getAsLong();
    if (t != null && now - t.refreshAt() < 0) {
      return CompletableFuture.completedFuture(t.value());
    }
    CompletableFuture<Token> f = fetch();
    if (t != null && now - t.expiresAt() < 0) {
      return CompletableFuture.completedFuture(t.value()); // still valid: the refresh runs meanwhile
    }
    return f.thenApply(Token::value);
  }

  /**
   * The token for a request made for {@code caller}: for a {@code token_exchange} upstream and a caller,
   * the caller's exchanged token (refused when the caller has none to exchange); otherwise the gateway's own.
   */
  CompletableFuture<String> token(java.util.Optional<CallContext.Caller> caller) {
    if (consent() && caller.isPresent()) {
      return caller.get().principal().map(p -> users.get().token(upstream, p)).orElseGet(() -> CompletableFuture.failedFuture(
          new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "' acts for each user with their consent, "
              + "and this call names no user")));
    }
    if (!auth.mode().equals(UpstreamConfig.Auth.TOKEN_EXCHANGE) || caller.isEmpty()) {
      return token();
    }
    java.util.Optional<String> subject = caller.get().accessToken();
    if (subject.isEmpty()) {
      return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
          + "' acts as the user (auth.mode: token_exchange), and this caller presented no access token to exchange (an API key"
          + " or no credentials): sign in with the identity provider to use it"));
    }
    return exchanged(subject.get()).thenApply(Token::value);
  }

  private CompletableFuture<Token> exchanged(String subjectToken) {
    String key = sha256(subjectToken);
    long now = nanos.getAsLong();
    synchronized (this) {
      Token t = exchanged.get(key);
      if (t != null && now - t.refreshAt() < 0) {
        return CompletableFuture.completedFuture(t);
      }
      CompletableFuture<Token> running = exchanging.get(key);
      if (running != null) {
        return running;
      }
      String whom = whom(subjectToken);
      CompletableFuture<Token> f = endpoint()
          .thenCompose(e -> !auth.actorToken()
              ? request(e, exchangeForm(subjectToken), "token exchange")
              // Delegation: the gateway names itself as the actor with its own token (RFC 8693 section 4.1, act).
              : token().thenCompose(actor -> request(e, exchangeForm(subjectToken) + "&actor_token=" + enc(actor)
                  + "&actor_token_type=" + enc(ACCESS_TOKEN_TYPE), "token exchange")))
          .thenApply(x -> new Token(x.value(), x.refreshAt(), x.expiresAt(), "for " + whom + ", " + x.detail()));
      exchanging.put(key, f);
      f.whenComplete((got, e) -> {
        synchronized (this) {
          exchanging.remove(key);
          if (got != null) {
            exchanged.put(key, got);
            while (exchanged.size() > MAX_EXCHANGED) {
              exchanged.remove(exchanged.keySet().iterator().next());
            }
          }
        }
        if (got == null) {
          log.warn("upstream '{}': token exchange failed: {}", upstream, message(e));
          emit("failed", UpstreamConfig.Auth.TOKEN_EXCHANGE, message(e));
        } else {
          emit("issued", UpstreamConfig.Auth.TOKEN_EXCHANGE, got.detail());
        }
      });
      return f;
    }
  }

  /** Whom a (validated) JWT names, for the audit trail: its subject and issuer, read from its payload. */
  static String whom(String jwt) {
    try {
      String[] parts = jwt.split("\\.");
      JsonNode claims = Json.MAPPER.readTree(java.util.Base64.getUrlDecoder().decode(parts[1]));
      return "subject '" + clip(claims.path("sub").asText("?")) + "' of " + clip(claims.path("iss").asText("?"));
    } catch (RuntimeException | IOException e) {
      return "a caller";
    }
  }

  private static String sha256(String s) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@link #token()} for threads that may wait (connecting, long-lived streams). */
  String tokenNow(Duration timeout) throws IOException {
    try {
      return token().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while getting a token for upstream '" + upstream + "'");
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("no token for upstream '" + upstream + "' within " + timeout.toSeconds() + " s");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      throw new IOException(c.getMessage(), c);
    }
  }

  /** The token in hand, fresh or not, without fetching (for a best-effort request such as a session's DELETE); null if none. */
  String cached() {
    if (consent()) {
      return users.get().anyToken(upstream).orElse(null);
    }
    Token t = current;
    return t == null ? null : t.value();
  }

  /** The upstream refused {@code value} (401): never send it again. */
  void refused(String value) {
    emit("refused", auth.mode(), "the upstream answered 401 to the token; it is dropped and a new one asked for");
    if (consent()) {
      users.get().refused(upstream, value);
      return;
    }
    Token t = current;
    if (t != null && t.value().equals(value)) {
      current = null;
    }
    synchronized (this) {
      exchanged.values().removeIf(x -> x.value().equals(value));
    }
  }

  private volatile String lastFailure;

  /** The credentials' state in words, for the admin view: never a token. */
  String describe() {
    if (consent()) {
      String f = lastFailure;
      return auth.mode() + ": " + (users.get().anyToken(upstream).isPresent() ? "users have consented" : "no user has consented yet")
          + (f == null ? "" : "; last failure: " + f);
    }
    Token t = current;
    long now = nanos.getAsLong();
    String own = t == null ? "no token yet"
        : now - t.expiresAt() >= 0 ? "token expired" : "token valid " + TimeUnit.NANOSECONDS.toSeconds(t.expiresAt() - now) + " s more";
    int held;
    synchronized (this) {
      held = exchanged.size();
    }
    String f = lastFailure;
    return auth.mode() + ": " + own + ", " + fetches + " issued"
        + (auth.mode().equals(UpstreamConfig.Auth.TOKEN_EXCHANGE) ? ", exchanged tokens of " + held + " callers held" : "")
        + (f == null ? "" : "; last failure: " + f);
  }

  /** How many tokens were fetched (for tests and the admin view). */
  long fetches() {
    return fetches;
  }

  private synchronized CompletableFuture<Token> fetch() {
    if (fetching != null) {
      return fetching;
    }
    CompletableFuture<Token> f = endpoint().thenCompose(e -> request(e, "grant_type=client_credentials", "client credentials grant"));
    fetching = f;
    f.whenComplete((t, e) -> {
      synchronized (this) {
        fetching = null;
      }
      if (t != null) {
        current = t;
        fetches++;
        emit("issued", UpstreamConfig.Auth.CLIENT_CREDENTIALS, t.detail());
      } else {
        log.warn("upstream '{}': no token from the authorization server: {}", upstream, message(e));
        emit("failed", UpstreamConfig.Auth.CLIENT_CREDENTIALS, message(e));
      }
    });
    return f;
  }

  /** The token endpoint: configured, or read once from the issuer's metadata. */
  private CompletableFuture<URI> endpoint() {
    URI known = tokenEndpoint;
    if (known != null) {
      return CompletableFuture.completedFuture(known);
    }
    return discover(candidates(auth.issuer()), 0);
  }

  /** Where an issuer's metadata may be: RFC 8414 (path inserted, then appended), OpenID Connect discovery. */
  static List<URI> candidates(URI issuer) {
    String base = issuer.getScheme() + "://" + issuer.getRawAuthority();
    String path = issuer.getRawPath() == null ? "" : issuer.getRawPath().replaceAll("/+$", "");
    List<URI> out = new ArrayList<>();
    out.add(URI.create(base + "/.well-known/oauth-authorization-server" + path));
    out.add(URI.create(base + path + "/.well-known/openid-configuration"));
    if (!path.isEmpty()) {
      out.add(URI.create(base + path + "/.well-known/oauth-authorization-server"));
    }
    return out;
  }

  private CompletableFuture<URI> discover(List<URI> where, int i) {
    if (i >= where.size()) {
      return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
          + "': the authorization server " + auth.issuer() + " publishes no metadata naming a token endpoint (tried " + where + ")"));
    }
    Request req = http.newRequest(where.get(i)).method(HttpMethod.GET).timeout(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .headers(h -> h.put(HttpHeader.ACCEPT, "application/json"));
    return UpstreamHttp.exchangeAsync(req, REQUEST_TIMEOUT, MAX_RESPONSE_BYTES, "the authorization server").handle((resp, e) -> {
      if (e != null || resp.status() != 200) {
        if (resp != null) {
          resp.discard();
        }
        return null;
      }
      try {
        JsonNode meta = Json.MAPPER.readTree(resp.bytes());
        String issuer = meta.path("issuer").asText("");
        if (!issuer.replaceAll("/+$", "").equals(auth.issuer().toString().replaceAll("/+$", ""))) {
          throw new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "': the metadata at " + where.get(i)
              + " names issuer '" + issuer + "' (expected: " + auth.issuer() + ")");
        }
        URI endpoint = URI.create(meta.path("token_endpoint").asText(""));
        if (endpoint.getScheme() == null || !endpoint.getScheme().startsWith("http")) {
          throw new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "': the metadata at " + where.get(i)
              + " names no usable token_endpoint");
        }
        return endpoint;
      } catch (IOException | IllegalArgumentException bad) {
        return null;
      }
    }).thenCompose(found -> {
      if (found == null) {
        return discover(where, i + 1);
      }
      tokenEndpoint = found;
      return CompletableFuture.completedFuture(found);
    });
  }

  /** A token exchange's form: the caller's token as the subject, an access token for the upstream asked for. */
  private static String exchangeForm(String subjectToken) {
    return "grant_type=" + enc(TOKEN_EXCHANGE) + "&subject_token=" + enc(subjectToken) + "&subject_token_type=" + enc(ACCESS_TOKEN_TYPE)
        + "&requested_token_type=" + enc(ACCESS_TOKEN_TYPE);
  }

  /** One grant ({@code grantForm}: its own parameters) at {@code endpoint}, with scopes, audience, resource and client authentication. */
  private CompletableFuture<Token> request(URI endpoint, String grantForm, String grant) {
    StringBuilder form = new StringBuilder(grantForm);
    if (!auth.scopes().isEmpty()) {
      form.append("&scope=").append(enc(String.join(" ", auth.scopes())));
    }
    if (auth.audience() != null) {
      form.append("&audience=").append(enc(auth.audience()));
    }
    if (auth.resource() != null) {
      form.append("&resource=").append(enc(auth.resource().toString()));
    }
    boolean basic = auth.clientAuth().equals("client_secret_basic");
    if (auth.clientAuth().equals("client_secret_post")) {
      form.append("&client_id=").append(enc(auth.clientId())).append("&client_secret=").append(enc(auth.clientSecret()));
    } else if (auth.clientAuth().equals("private_key_jwt")) {
      String assertion;
      try {
        assertion = ClientAssertion.sign(auth, endpoint);
      } catch (IOException | java.security.GeneralSecurityException e) {
        return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
            + "': no client assertion could be signed with auth.private_key_file " + auth.privateKeyFile() + ": " + e.getMessage()));
      }
      form.append("&client_id=").append(enc(auth.clientId()))
          .append("&client_assertion_type=").append(enc(ClientAssertion.TYPE))
          .append("&client_assertion=").append(enc(assertion));
    }
    Request req = http.newRequest(endpoint).method(HttpMethod.POST).timeout(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .headers(h -> {
          h.put(HttpHeader.ACCEPT, "application/json");
          if (basic) {
            // RFC 6749 2.3.1: each part form-encoded, then joined and base64-encoded.
            String pair = enc(auth.clientId()) + ":" + enc(auth.clientSecret());
            h.put(HttpHeader.AUTHORIZATION, "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
          }
        })
        .body(new StringRequestContent("application/x-www-form-urlencoded", form.toString(), StandardCharsets.UTF_8));
    long sent = nanos.getAsLong();
    return UpstreamHttp.exchangeAsync(req, REQUEST_TIMEOUT, MAX_RESPONSE_BYTES, "the token endpoint")
        .exceptionally(e -> {
          throw new CompletionException(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
              + "': the token endpoint " + endpoint + " could not be reached (" + message(e) + ")"));
        })
        .thenApply(resp -> {
      JsonNode body;
      try {
        body = Json.MAPPER.readTree(resp.bytes());
      } catch (IOException e) {
        throw new CompletionException(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
            + "': the token endpoint " + endpoint + " answered HTTP " + resp.status() + " without JSON"));
      }
      if (resp.status() != 200 || !body.path("access_token").isTextual()) {
        // error and error_description are the server's words about our request: never a token
        String error = body.path("error").asText("no access_token");
        String description = body.path("error_description").asText("");
        throw new CompletionException(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
            + "': the token endpoint " + endpoint + " refused the " + grant + " (HTTP " + resp.status() + ": " + error
            + (description.isEmpty() ? "" : " — " + clip(description)) + ")"));
      }
      String type = body.path("token_type").asText("Bearer");
      if (!type.equalsIgnoreCase("Bearer")) {
        throw new CompletionException(new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + upstream
            + "': the token endpoint gave a '" + clip(type) + "' token (expected: Bearer)"));
      }
      long lifetime = body.path("expires_in").canConvertToLong() && body.path("expires_in").asLong() > 0
          ? TimeUnit.SECONDS.toNanos(body.path("expires_in").asLong()) : DEFAULT_LIFETIME.toNanos();
      // Replaced once 80 % of its life is gone, and not used in its last 5 % (clock skew, time in flight).
      return new Token(body.get("access_token").asText(), sent + lifetime * 4 / 5, sent + lifetime * 19 / 20,
          "from " + endpoint + ", valid " + TimeUnit.NANOSECONDS.toSeconds(lifetime) + " s"
              + (auth.scopes().isEmpty() ? "" : ", scopes " + String.join(" ", auth.scopes())));
    });
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String clip(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }

  private static String message(Throwable e) {
    Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return c == null ? "unknown" : c.getMessage();
  }
}
