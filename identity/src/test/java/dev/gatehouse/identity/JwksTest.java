package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.EC_1;
import static dev.gatehouse.identity.Tokens.RSA_1;
import static dev.gatehouse.identity.Tokens.RSA_2;
import static dev.gatehouse.identity.Tokens.accepted;
import static dev.gatehouse.identity.Tokens.bearer;
import static dev.gatehouse.identity.Tokens.claims;
import static dev.gatehouse.identity.Tokens.refused;
import static dev.gatehouse.identity.Tokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.jwk.RSAKey;
import dev.gatehouse.identity.AuthResult.Reason;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The JWKS cache: rotation, rate-limited refetch, outages with and without cached keys. */
@Timeout(20)
class JwksTest {
  static final FetchSettings FAST = new FetchSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 4096);

  private static Authenticator authenticator(IssuerConfig issuer) {
    return DefaultAuthenticator.create(new IdentityConfig(List.of(issuer), List.of(), false), Clock.systemUTC(), FAST);
  }

  private static AuthResult check(Authenticator auth, String token) {
    return auth.authenticate(bearer(token), Optional.empty());
  }

  @Test
  void rotatedKeyIsAcceptedAfterExactlyOneRefetch() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config().withJwksUri(idp.jwksUri()))) {
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      assertEquals(1, idp.jwksHits.get(), "keys are fetched once and cached");

      idp.serve(RSA_1, RSA_2); // the IdP rotates in k2
      accepted(check(auth, sign(RSA_2, claims(idp.issuer).build())));
      assertEquals(2, idp.jwksHits.get(), "an unknown kid triggers exactly one refetch");
      accepted(check(auth, sign(RSA_2, claims(idp.issuer).build())));
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      assertEquals(2, idp.jwksHits.get(), "the refetched set is cached");
      assertEquals(0, idp.discoveryHits.get(), "with jwks_uri configured there is no discovery");
    }
  }

  @Test
  void unknownKidFloodIsRateLimited() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      for (int i = 0; i < 20; i++) {
        RSAKey stranger = new RSAKey.Builder(Tokens.FORGER).keyID("stranger-" + i).build();
        refused(check(auth, sign(stranger, claims(idp.issuer).build())), Reason.UNKNOWN_KEY);
      }
      // The initial fetch and one refetch: the rate limit allows two per jwks_min_refetch_interval (30 s).
      assertEquals(2, idp.jwksHits.get());
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
    }
  }

  @Test
  void ecKeysWorkAlongsideRsaKeys() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1, EC_1); Authenticator auth = authenticator(idp.config())) {
      accepted(check(auth, sign(EC_1, claims(idp.issuer).build())));
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      assertEquals(1, idp.jwksHits.get());
    }
  }

  @Test
  void cachedKeysKeepWorkingThroughAnIdpOutage() throws Exception {
    IssuerConfig shortCache = null;
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      shortCache = idp.config().withJwksTimings(Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMinutes(10));
      try (Authenticator auth = authenticator(shortCache)) {
        accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        idp.jwksAnswer = TestIdp.Answer.of(500, "{\"error\":\"down\"}");
        Thread.sleep(1300); // past jwks_refresh: the cache has expired and refreshing fails
        accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        assertTrue(idp.jwksHits.get() >= 2, "a refresh was attempted during the outage");
        // An unknown kid during the outage is still just an unknown key, not a 503.
        refused(check(auth, sign(RSA_2, claims(idp.issuer).build())), Reason.UNKNOWN_KEY);
      }
    }
  }

  @Test
  void cachedKeysKeepWorkingWhileTheJwksEndpointHangs() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      IssuerConfig shortCache = idp.config().withJwksTimings(Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(10));
      try (Authenticator auth = authenticator(shortCache)) {
        accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        idp.jwksHangs = true;
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (idp.jwksHits.get() < 2 && System.nanoTime() < deadline) {
          Thread.sleep(20); // waiting for the background refresh to reach the hung endpoint
        }
        assertTrue(idp.jwksHits.get() >= 2, "the background refresh did not run");
        // Past jwks_refresh, with a refresh hanging: the cached key still verifies, at once.
        for (int i = 0; i < 5; i++) {
          accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        }
        // Only an unknown kid waits for a fetch, bounded (connect + request timeout), and is an unknown key, not a 503.
        refused(check(auth, sign(RSA_2, claims(idp.issuer).build())), Reason.UNKNOWN_KEY);
      }
    }
  }

  @Test
  void concurrentUnknownKidsShareOneFetch() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config().withJwksUri(idp.jwksUri()))) {
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      idp.serve(RSA_1, RSA_2);
      String token = sign(RSA_2, claims(idp.issuer).build());
      java.util.List<java.util.concurrent.Future<AuthResult>> all = new java.util.ArrayList<>();
      try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < 20; i++) {
          all.add(pool.submit(() -> check(auth, token)));
        }
      }
      for (var f : all) {
        accepted(f.get());
      }
      assertTrue(idp.jwksHits.get() <= 3, "unknown-kid fetches were not shared: " + idp.jwksHits.get());
    }
  }

  @Test
  void keysAreRefreshedAheadOfExpiryInTheBackground() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      IssuerConfig shortCache = idp.config().withJwksTimings(Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMinutes(10));
      try (Authenticator auth = authenticator(shortCache)) {
        accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        assertEquals(1, idp.jwksHits.get());
        idp.serve(RSA_2); // the IdP revokes k1 and publishes k2
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (idp.jwksHits.get() < 2 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertTrue(idp.jwksHits.get() >= 2, "no background refresh happened without traffic");
        accepted(check(auth, sign(RSA_2, claims(idp.issuer).build())));
        refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.UNKNOWN_KEY);
      }
    }
  }

  @Test
  void closedAuthenticatorMakesNoMoreRequests() throws Exception {
    String key = ApiKeys.generate();
    try (TestIdp idp = TestIdp.start(RSA_1); TestIdp unused = TestIdp.start("/unused", RSA_1)) {
      Authenticator auth = DefaultAuthenticator.create(
          new IdentityConfig(List.of(idp.config(), unused.config()), List.of(ApiKeyConfig.of("k", ApiKeys.hash(key), "bot")), false),
          Clock.systemUTC(), FAST);
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      auth.close();
      auth.close(); // idempotent
      // A request that raced the close still verifies with keys already in memory...
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      // ...but nothing is fetched any more: not a refetch, not a first discovery.
      AuthResult unknownKid = check(auth, sign(RSA_2, claims(idp.issuer).build()));
      Reason reason = ((AuthResult.Failed) unknownKid).failure().reason();
      assertTrue(reason == Reason.UNKNOWN_KEY || reason == Reason.IDP_UNAVAILABLE, reason::toString);
      refused(check(auth, sign(RSA_1, claims(unused.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertEquals(1, idp.jwksHits.get());
      assertEquals(0, unused.hits());
      accepted(auth.authenticate(Optional.empty(), Optional.of(key)));
    }
  }

  @Test
  void idpDownWithoutCachedKeysIs503() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config().withJwksUri(idp.jwksUri()))) {
      idp.jwksAnswer = TestIdp.Answer.of(500, "oops");
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertEquals(503, f.status());
      assertTrue(f.description().contains("HTTP 500"), f.description());
      // Further tokens keep getting 503 while no keys were ever fetched, rate-limited or not.
      for (int i = 0; i < 3; i++) {
        refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      }
      assertTrue(idp.jwksHits.get() <= 2, "refetching while the IdP is down is rate-limited: " + idp.jwksHits.get());
    }
  }

  @Test
  void jwksEndpointReturningGarbageIs503() throws Exception {
    for (String garbage : List.of("<html>oops</html>", "{\"no\":\"keys\"}", "[]", "")) {
      try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config().withJwksUri(idp.jwksUri()))) {
        idp.jwksAnswer = TestIdp.Answer.of(200, garbage);
        AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
        assertTrue(f.description().contains("did not return a JWK set"), f.description());
      }
    }
  }

  @Test
  void unreachableJwksIs503() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    IssuerConfig issuer = IssuerConfig.of("http://127.0.0.1:" + port + "/gone", Tokens.AUDIENCE, true)
        .withJwksUri(URI.create("http://127.0.0.1:" + port + "/gone/jwks"));
    try (Authenticator auth = authenticator(issuer)) {
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(issuer.issuer()).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("connection refused"), f.description());
    }
  }

  @Test
  void oversizedJwksIs503() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      idp.jwksAnswer = TestIdp.Answer.of(200, "{\"keys\":[],\"pad\":\"" + "x".repeat(10_000) + "\"}");
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("larger than 4096 bytes"), f.description());
    }
  }

  @Test
  void jwksRedirectIsNotFollowed() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); TestIdp elsewhere = TestIdp.start("/elsewhere", RSA_1);
        Authenticator auth = authenticator(idp.config())) {
      idp.jwksAnswer = new TestIdp.Answer(302, "", elsewhere.jwksUri().toString());
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("redirect"), f.description());
      assertEquals(0, elsewhere.hits(), "the redirect target was called");
    }
  }
}
