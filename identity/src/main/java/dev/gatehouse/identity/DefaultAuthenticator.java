package dev.gatehouse.identity;

import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.identity.AuthResult.Reason;
import java.text.ParseException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authenticator: header parsing, the checks every token gets before any key is looked up (size,
 * shape, {@code alg}, forbidden header keys, issuer, {@code typ}), then the issuer's verifier, or the
 * API key store.
 *
 * <p>The cheap, structural checks come first and in a fixed order, so a forged token is refused
 * before it can cause a JWKS fetch, and each refusal names its own reason.
 */
final class DefaultAuthenticator implements Authenticator {
  private static final Logger log = LoggerFactory.getLogger(DefaultAuthenticator.class);

  /** Header keys that would let the token choose its own verification key; never honoured, never fetched. */
  static final List<String> FORBIDDEN_HEADERS = List.of("jku", "x5u", "jwk", "x5c");

  private final IdentityConfig config;
  private final Map<String, IssuerVerifier> issuers;
  private final ApiKeyStore apiKeys;
  private final int maxTokenChars;
  // Present only when an issuer fetches discovery or JWKS.
  private final HttpFetcher fetcher;
  private final ExecutorService refresher;
  private final ScheduledThreadPoolExecutor scheduler;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Where tokens not verified recently are checked (signatures, and JWKS fetches when keys are missing). */
  private final ExecutorService verifiers = new java.util.concurrent.ThreadPoolExecutor(2, 2, 0, java.util.concurrent.TimeUnit.SECONDS,
      new java.util.concurrent.LinkedBlockingQueue<>(10_000), Thread.ofPlatform().name("gatehouse-identity-", 0).daemon(true).factory());
  private final Clock clock;

  private DefaultAuthenticator(IdentityConfig config, Clock clock, FetchSettings settings) {
    this.config = config;
    this.clock = clock;
    this.apiKeys = new ApiKeyStore(config.apiKeys(), clock);
    boolean fetches = config.issuers().stream().anyMatch(i -> !i.hmac());
    this.fetcher = fetches ? new HttpFetcher(settings) : null;
    this.refresher = fetches ? Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("gatehouse-jwks-", 0).factory()) : null;
    if (fetches) {
      this.scheduler = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("gatehouse-jwks-timer").daemon().factory());
      this.scheduler.setRemoveOnCancelPolicy(true);
    } else {
      this.scheduler = null;
    }
    Map<String, IssuerVerifier> byIssuer = new LinkedHashMap<>();
    int max = ApiKeys.MAX_KEY_CHARS;
    for (IssuerConfig i : config.issuers()) {
      byIssuer.put(i.issuer(), new IssuerVerifier(i, fetcher, settings, clock, refresher, scheduler));
      max = Math.max(max, i.maxTokenBytes());
    }
    this.issuers = Map.copyOf(byIssuer);
    this.maxTokenChars = config.issuers().isEmpty() ? Math.max(max, IssuerConfig.DEFAULT_MAX_TOKEN_BYTES) : max;
  }

  /** The test seam: another clock (token times, key expiry) and other fetch limits. */
  static DefaultAuthenticator create(IdentityConfig config, Clock clock, FetchSettings settings) {
    return new DefaultAuthenticator(config, clock, settings);
  }

  @Override
  public boolean enabled() {
    return config.enabled();
  }

  @Override
  public boolean anonymousAllowed() {
    return !config.enabled() || config.allowAnonymous();
  }

  @Override
  public AuthResult authenticate(Optional<String> authorization, Optional<String> apiKeyHeader) {
    if (!config.enabled()) {
      return new AuthResult.Authenticated(Principal.anonymous());
    }
    Optional<String> auth = authorization.map(String::strip).filter(s -> !s.isEmpty());
    Optional<String> key = apiKeyHeader.map(String::strip).filter(s -> !s.isEmpty());
    try {
      if (auth.isEmpty() && key.isEmpty()) {
        if (config.allowAnonymous()) {
          return new AuthResult.Authenticated(Principal.anonymous());
        }
        return AuthResult.failed(Reason.MISSING, "missing credentials (expected: Authorization: Bearer <token>, or X-API-Key)");
      }
      if (auth.isPresent() && key.isPresent()) {
        // Two credentials could name two callers; picking one silently would hide a client bug.
        throw new Rejected(Reason.MALFORMED, "both Authorization and X-API-Key sent (expected: one credential)");
      }
      if (key.isPresent()) {
        return apiKey(key.get());
      }
      String credential = bearer(auth.get());
      return credential.startsWith(ApiKeys.PREFIX) ? apiKey(credential) : new AuthResult.Authenticated(jwt(credential));
    } catch (Rejected r) {
      return new AuthResult.Failed(r.failure());
    } catch (RuntimeException e) {
      // Bad input must never become a 500. Log where it failed but not the message: it could quote the token.
      StackTraceElement[] at = e.getStackTrace();
      log.warn("credential check failed unexpectedly: {} at {}", e.getClass().getName(), at.length > 0 ? at[0] : "?");
      return AuthResult.failed(Reason.MALFORMED, "credentials could not be processed");
    }
  }

  @Override
  public java.util.concurrent.CompletableFuture<AuthResult> authenticateAsync(Optional<String> authorization, Optional<String> apiKeyHeader) {
    if (!mayWait(authorization, apiKeyHeader)) {
      return java.util.concurrent.CompletableFuture.completedFuture(authenticate(authorization, apiKeyHeader));
    }
    try {
      return java.util.concurrent.CompletableFuture.supplyAsync(() -> authenticate(authorization, apiKeyHeader), verifiers);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return java.util.concurrent.CompletableFuture.completedFuture(AuthResult.failed(Reason.IDP_UNAVAILABLE, "authenticator is shutting down"));
    }
  }

  /** Whether authenticating may take a signature check or a key fetch: a bearer JWT not verified recently. */
  private boolean mayWait(Optional<String> authorization, Optional<String> apiKeyHeader) {
    if (!config.enabled() || apiKeyHeader.isPresent() || authorization.isEmpty()) {
      return false;
    }
    String header = authorization.get().strip();
    int space = header.indexOf(' ');
    String token = space < 0 ? "" : header.substring(space + 1).strip();
    if (token.isEmpty() || token.startsWith(ApiKeys.PREFIX)) {
      return false;
    }
    Verified hit = verified.get(token);
    return hit == null || clock.millis() >= hit.notAfterMillis();
  }

  private AuthResult apiKey(String key) throws Rejected {
    if (key.length() > ApiKeys.MAX_KEY_CHARS) {
      throw new Rejected(Reason.TOO_LARGE, "API key longer than " + ApiKeys.MAX_KEY_CHARS + " characters");
    }
    if (apiKeys.isEmpty()) {
      throw new Rejected(Reason.UNKNOWN_API_KEY, "unknown API key (no API keys are configured)");
    }
    return apiKeys.authenticate(key);
  }

  private String bearer(String header) throws Rejected {
    if (header.length() > maxTokenChars + 32) {
      throw new Rejected(Reason.TOO_LARGE, "Authorization header larger than " + maxTokenChars + " bytes");
    }
    int space = header.indexOf(' ');
    String scheme = space < 0 ? header : header.substring(0, space);
    if (!scheme.equalsIgnoreCase("Bearer")) {
      throw new Rejected(Reason.MALFORMED, "unsupported Authorization scheme (expected: Bearer <token>)");
    }
    String token = space < 0 ? "" : header.substring(space + 1).strip();
    if (token.isEmpty() || token.indexOf(' ') >= 0) {
      throw new Rejected(Reason.MALFORMED, "malformed Authorization header (expected: Bearer <token>)");
    }
    return token;
  }

  /**
   * Tokens verified recently, so a client sending the same access token on every request pays for
   * the signature check once (RS256 ~50 µs, ES256 ~450 µs on a small machine), not every time. An
   * entry lives until the token's exp (minus nothing: exp is checked on every hit) but at most
   * {@link #CACHE_TTL}, so a key removed from the issuer's JWKS stops being honoured within that time.
   */
  private record Verified(Principal principal, long notAfterMillis) {}

  static final java.time.Duration CACHE_TTL = java.time.Duration.ofMinutes(5);
  private static final int CACHE_MAX = 10_000;
  private final java.util.concurrent.ConcurrentHashMap<String, Verified> verified = new java.util.concurrent.ConcurrentHashMap<>();

  private Principal jwt(String token) throws Rejected {
    long now = clock.millis();
    Verified hit = verified.get(token);
    if (hit != null) {
      if (now < hit.notAfterMillis()) {
        return hit.principal();
      }
      verified.remove(token, hit);
    }
    Principal p = verifyJwt(token).withAccessToken(token);
    Object exp = p.claims().get("exp");
    if (exp instanceof Number n) {
      long notAfter = Math.min(n.longValue() * 1000, now + CACHE_TTL.toMillis());
      if (verified.size() >= CACHE_MAX) {
        verified.clear(); // cheap and rare: a burst of distinct tokens just re-verifies
      }
      verified.put(token, new Verified(p, notAfter));
    }
    return p;
  }

  private Principal verifyJwt(String token) throws Rejected {
    if (token.length() > maxTokenChars) {
      throw new Rejected(Reason.TOO_LARGE, "token larger than " + maxTokenChars + " bytes");
    }
    String[] parts = split(token);
    Map<String, Object> header;
    try {
      header = JSONObjectUtils.parse(new Base64URL(parts[0]).decodeToString());
    } catch (ParseException | RuntimeException e) {
      throw new Rejected(Reason.MALFORMED, "token header is not a JSON object");
    }
    if (!(header.get("alg") instanceof String alg)) {
      throw new Rejected(Reason.MALFORMED, "token header has no alg");
    }
    if (alg.strip().equalsIgnoreCase("none")) {
      throw new Rejected(Reason.UNSUPPORTED_ALGORITHM, "unsigned tokens (alg none) are never accepted");
    }
    for (String name : FORBIDDEN_HEADERS) {
      if (header.containsKey(name)) {
        throw new Rejected(Reason.FORBIDDEN_HEADER,
            "token header carries " + name + " (keys are only taken from the issuer's configured JWKS)");
      }
    }
    SignedJWT jwt;
    JWTClaimsSet unverified;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      throw new Rejected(Reason.MALFORMED, "token header is not a valid JWS header");
    }
    Map<String, Object> payload;
    try {
      payload = JSONObjectUtils.parse(jwt.getPayload().toString());
    } catch (ParseException e) {
      throw new Rejected(Reason.MALFORMED, "token payload is not a JSON object");
    }
    try {
      // Parsed once here; Nimbus' processor reuses the claims set the token object caches.
      unverified = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new Rejected(Reason.BAD_CLAIM, "a registered claim (iss, sub, aud, exp, nbf, iat, jti) has the wrong type");
    }
    // The issuer is read before verification only to pick whose keys verify the token; the verifier
    // then checks iss again, exactly, against the issuer it belongs to.
    String iss = unverified.getIssuer();
    if (iss == null) {
      throw new Rejected(Reason.MISSING_CLAIM, "token has no iss claim");
    }
    IssuerVerifier issuer = issuers.get(iss);
    if (issuer == null) {
      throw new Rejected(Reason.UNKNOWN_ISSUER, "issuer '" + printable(iss) + "' is not trusted");
    }
    IssuerConfig c = issuer.config();
    if (token.length() > c.maxTokenBytes()) {
      throw new Rejected(Reason.TOO_LARGE, "token larger than " + c.maxTokenBytes() + " bytes");
    }
    if (!issuer.allows(alg)) {
      throw new Rejected(Reason.UNSUPPORTED_ALGORITHM,
          "algorithm '" + printable(alg) + "' is not accepted for this issuer (expected one of: " + String.join(", ", c.algorithms()) + ")");
    }
    if (!issuer.acceptsType(jwt)) {
      String typ = jwt.getHeader().getType() == null ? "(none)" : printable(jwt.getHeader().getType().getType());
      throw new Rejected(Reason.BAD_TYPE, "token type " + typ + " is not accepted for this issuer (expected one of: "
          + String.join(", ", c.tokenTypes().stream().map(t -> t.isEmpty() ? "(none)" : t).toList()) + ")");
    }
    return issuer.verify(jwt, payload);
  }

  /** The three base64url parts of a JWS, or the reason the string is not one. */
  private static String[] split(String token) throws Rejected {
    int dots = 0;
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c == '.') {
        dots++;
      } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        throw new Rejected(Reason.MALFORMED, "token is not base64url (expected: a JWT, three base64url parts separated by dots)");
      }
    }
    if (dots == 4) {
      throw new Rejected(Reason.UNSUPPORTED_ALGORITHM, "encrypted tokens (JWE) are not accepted");
    }
    if (dots != 2) {
      throw new Rejected(Reason.MALFORMED, "token has " + (dots + 1) + " parts (expected: a JWT, three base64url parts separated by dots)");
    }
    int first = token.indexOf('.');
    int second = token.indexOf('.', first + 1);
    if (first == 0 || second == first + 1) {
      throw new Rejected(Reason.MALFORMED, "token has an empty part (expected: a JWT, three base64url parts separated by dots)");
    }
    return new String[] {token.substring(0, first), token.substring(first + 1, second), token.substring(second + 1)};
  }

  /** A token-supplied value made safe for a description: printable ASCII, no quotes, bounded length. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), 100));
    for (int i = 0; i < s.length() && i < 100; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\' ? c : '?');
    }
    return s.length() > 100 ? b.append("...").toString() : b.toString();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    issuers.values().forEach(IssuerVerifier::close);
    verifiers.shutdown(); // checks already queued finish against the keys in hand
    if (scheduler != null) {
      scheduler.shutdownNow();
      refresher.shutdownNow();
      fetcher.close();
    }
  }
}
