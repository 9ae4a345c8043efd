package dev.gatehouse.registry;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The tokens users gave the gateway for upstreams with {@code auth: {mode: user_consent}}: the
 * gateway's process keeps them (encrypted, refreshed); the registry asks for one per call.
 */
public interface UserTokens {

  /**
   * The bearer to send {@code upstream} for a call of {@code principal}; fails with an
   * {@link McpException} that carries the consent URL when the user has not consented (or the consent
   * can no longer be refreshed).
   */
  CompletableFuture<String> token(String upstream, String principal);

  /**
   * A token of any user who consented, for the gateway's own requests to {@code upstream} (connecting,
   * listing): empty while nobody has.
   */
  Optional<String> anyToken(String upstream);

  /** The upstream answered 401 to {@code bearer}: it is not sent again (a refresh or a new consent follows). */
  void refused(String upstream, String bearer);

  /**
   * The upstream answered 403 {@code insufficient_scope} to a call of {@code principal}, its
   * {@code WWW-Authenticate} being {@code challenge}: the error to answer instead, if the user can fix
   * it by consenting again with the scope asked for (a step-up).
   */
  default Optional<McpException> insufficientScope(String upstream, String principal, String challenge) {
    return Optional.empty();
  }

  /** None: every user_consent upstream waits. */
  UserTokens NONE = new UserTokens() {
    @Override
    public CompletableFuture<String> token(String upstream, String principal) {
      return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE,
          "upstream '" + upstream + "' needs each user's consent, and this gateway keeps no user tokens"));
    }

    @Override
    public Optional<String> anyToken(String upstream) {
      return Optional.empty();
    }

    @Override
    public void refused(String upstream, String bearer) {}
  };
}
