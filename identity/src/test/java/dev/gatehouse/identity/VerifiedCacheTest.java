package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.RSA_1;
import static dev.gatehouse.identity.Tokens.bearer;
import static dev.gatehouse.identity.Tokens.claims;
import static dev.gatehouse.identity.Tokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A verified token is served from the cache, but never past its exp. */
@Timeout(20)
class VerifiedCacheTest {

  /** A clock the test moves by hand. */
  static final class HandClock extends Clock {
    Instant now = Instant.now();

    @Override
    public ZoneId getZone() {
      return ZoneId.of("UTC");
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void cachedTokenStillExpiresAtItsExp() throws Exception {
    HandClock clock = new HandClock();
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      Authenticator auth = DefaultAuthenticator.create(new IdentityConfig(List.of(idp.config().withClockSkew(Duration.ZERO)), List.of(), false),
          clock, new FetchSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 64 * 1024));
      String token = sign(RSA_1, claims(idp.issuer).expirationTime(Date.from(clock.now.plusSeconds(60))).build());
      clock.now = Instant.now().plusSeconds(1); // after the token's iat
      assertInstanceOf(AuthResult.Authenticated.class, auth.authenticate(bearer(token), Optional.empty()));
      int fetches = idp.hits();
      assertInstanceOf(AuthResult.Authenticated.class, auth.authenticate(bearer(token), Optional.empty()), "served from the cache");
      assertEquals(fetches, idp.hits());
      clock.now = clock.now.plusSeconds(61);
      AuthResult late = auth.authenticate(bearer(token), Optional.empty());
      assertEquals(AuthResult.Reason.EXPIRED, ((AuthResult.Failed) late).failure().reason(), "the cache never outlives exp");
      auth.close();
    }
  }

  @Test
  void authenticateAsyncChecksAnUnseenTokenOffTheCallersThreadAndAnswersACachedOneAtOnce() throws Exception {
    HandClock clock = new HandClock();
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      Authenticator auth = DefaultAuthenticator.create(new IdentityConfig(List.of(idp.config().withClockSkew(Duration.ZERO)), List.of(), false),
          clock, new FetchSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 64 * 1024));
      String token = sign(RSA_1, claims(idp.issuer).expirationTime(Date.from(clock.now.plusSeconds(60))).build());
      clock.now = Instant.now().plusSeconds(1);
      String caller = Thread.currentThread().getName();
      java.util.concurrent.atomic.AtomicReference<String> ranOn = new java.util.concurrent.atomic.AtomicReference<>();
      AuthResult first = auth.authenticateAsync(bearer(token), Optional.empty())
          .whenComplete((r, e) -> ranOn.set(Thread.currentThread().getName())).get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertInstanceOf(AuthResult.Authenticated.class, first);
      org.junit.jupiter.api.Assertions.assertTrue(ranOn.get().startsWith("gatehouse-identity-") || ranOn.get().equals(caller), ranOn.get());
      java.util.concurrent.CompletableFuture<AuthResult> second = auth.authenticateAsync(bearer(token), Optional.empty());
      org.junit.jupiter.api.Assertions.assertTrue(second.isDone(), "a token verified recently is answered at once");
      assertInstanceOf(AuthResult.Authenticated.class, second.join());
      java.util.concurrent.CompletableFuture<AuthResult> none = auth.authenticateAsync(Optional.empty(), Optional.empty());
      org.junit.jupiter.api.Assertions.assertTrue(none.isDone(), "no credential: answered at once");
      assertEquals(AuthResult.Reason.MISSING, ((AuthResult.Failed) none.join()).failure().reason());
      auth.close();
    }
  }
}
