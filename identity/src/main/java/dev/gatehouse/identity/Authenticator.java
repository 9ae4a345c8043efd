package dev.gatehouse.identity;

import java.time.Clock;
import java.util.Optional;

/**
 * Turns a request's credentials into a {@link Principal}: an OIDC access token (JWT) or a gateway API
 * key. Thread-safe; one instance serves every request. Build one per {@link IdentityConfig} and close
 * it when that config is replaced.
 *
 * <p>Nothing is fetched at creation: an issuer's discovery document and keys are fetched on the first
 * token of that issuer, so an IdP that is down does not stop the gateway from starting (its tokens get
 * 503 until it is back).
 */
public interface Authenticator extends AutoCloseable {

  /** An authenticator for {@code config}, with the system clock and default fetch timeouts (5 s). */
  static Authenticator create(IdentityConfig config) {
    return DefaultAuthenticator.create(config, Clock.systemUTC(), FetchSettings.defaults());
  }

  /**
   * Authenticates one request.
   *
   * @param authorization the raw {@code Authorization} header: {@code Bearer <jwt>} or {@code Bearer gk_…}
   * @param apiKeyHeader the raw {@code X-API-Key} header: a gateway key {@code gk_…}
   * @return the principal, or why the credentials were refused; never throws for bad input
   */
  AuthResult authenticate(Optional<String> authorization, Optional<String> apiKeyHeader);

  /**
   * {@link #authenticate} for a caller that must not block: answered at once when no signature needs
   * checking (API keys, anonymous requests, a token verified recently), else verified on the
   * authenticator's own small pool, where a JWKS fetch may wait. The future never fails.
   */
  java.util.concurrent.CompletableFuture<AuthResult> authenticateAsync(Optional<String> authorization, Optional<String> apiKeyHeader);

  /** Whether any issuer or API key is configured; if not, every request is anonymous. */
  boolean enabled();

  /** Whether a request without credentials is accepted as {@link Principal#anonymous()}. */
  boolean anonymousAllowed();

  /**
   * Stops background key refreshes and releases the HTTP client. Idempotent. Afterwards nothing is
   * fetched: a request that raced the close still verifies against keys already in memory, a token that
   * would need a fetch is refused ({@code IDP_UNAVAILABLE}, or {@code UNKNOWN_KEY} for an unknown
   * {@code kid}), and API keys keep working.
   */
  @Override
  void close();
}
