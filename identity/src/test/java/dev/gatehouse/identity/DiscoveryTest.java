package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.RSA_1;
import static dev.gatehouse.identity.Tokens.accepted;
import static dev.gatehouse.identity.Tokens.bearer;
import static dev.gatehouse.identity.Tokens.claims;
import static dev.gatehouse.identity.Tokens.refused;
import static dev.gatehouse.identity.Tokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.AuthResult.Reason;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** OIDC discovery: lazy, cached, retried after a failure, and strict about the issuer it names. */
@Timeout(20)
class DiscoveryTest {
  static final FetchSettings FAST = new FetchSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 64 * 1024);

  private static Authenticator authenticator(IssuerConfig issuer) {
    return DefaultAuthenticator.create(new IdentityConfig(List.of(issuer), List.of(), false), Clock.systemUTC(), FAST);
  }

  private static AuthResult check(Authenticator auth, String token) {
    return auth.authenticate(bearer(token), Optional.empty());
  }

  @Test
  void discoveryHappensOnFirstTokenAndIsCached() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      assertEquals(0, idp.hits(), "nothing is fetched at creation");
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      assertEquals(1, idp.discoveryHits.get());
      assertEquals(1, idp.jwksHits.get());
    }
  }

  @Test
  void concurrentFirstTokensShareOneDiscoveryAndOneJwksFetch() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      List<String> tokens = java.util.stream.IntStream.range(0, 32).mapToObj(i -> sign(RSA_1, claims(idp.issuer).build())).toList();
      try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
        List<java.util.concurrent.Future<AuthResult>> results = new java.util.ArrayList<>();
        for (String t : tokens) {
          results.add(pool.submit(() -> check(auth, t)));
        }
        for (var r : results) {
          accepted(r.get());
        }
      }
      assertEquals(1, idp.discoveryHits.get());
      assertEquals(1, idp.jwksHits.get());
    }
  }

  @Test
  void idpDownAtStartIs503UntilItComesBack() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1)) {
      IssuerConfig issuer = idp.config().withJwksTimings(Duration.ofMinutes(5), Duration.ofMillis(300), Duration.ofHours(1));
      idp.discoveryAnswer = TestIdp.Answer.of(503, "{}");
      try (Authenticator auth = authenticator(issuer)) {
        AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
        assertTrue(f.description().contains("discovery") && f.description().contains("HTTP 503"), f.description());
        // Within the retry interval the remembered failure answers, without calling the IdP again.
        refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
        assertEquals(1, idp.discoveryHits.get());

        idp.discoveryAnswer = null; // the IdP is back
        Thread.sleep(400);
        accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
        assertEquals(2, idp.discoveryHits.get());
      }
    }
  }

  @Test
  void discoveredIssuerMustMatchExactly() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      idp.discoveredIssuer = idp.issuer + "/";
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("another issuer"), f.description());
      assertEquals(0, idp.jwksHits.get(), "no keys are fetched for a mismatched issuer");
    }
  }

  @Test
  void issuerWithTrailingSlashDiscoversWithoutDoubleSlash() throws Exception {
    try (TestIdp idp = TestIdp.start("/realms/acme/", RSA_1); Authenticator auth = authenticator(idp.config())) {
      accepted(check(auth, sign(RSA_1, claims(idp.issuer).build())));
      assertEquals(1, idp.discoveryHits.get());
    }
  }

  @Test
  void discoveredJwksUriMustBeHttpsOrLoopback() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      // Refused by the URL check before any connection is attempted.
      idp.discoveredJwksUri = "http://keys.example.com/jwks";
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("jwks_uri"), f.description());
    }
  }

  @Test
  void discoveryRedirectIsNotFollowed() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); TestIdp elsewhere = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      idp.discoveryAnswer = new TestIdp.Answer(301, "", elsewhere.issuer + "/.well-known/openid-configuration");
      refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertEquals(0, elsewhere.hits());
    }
  }

  @Test
  void discoveryDocumentThatIsNotJsonIs503() throws Exception {
    try (TestIdp idp = TestIdp.start(RSA_1); Authenticator auth = authenticator(idp.config())) {
      idp.discoveryAnswer = TestIdp.Answer.of(200, "<html>login</html>");
      AuthResult.Failure f = refused(check(auth, sign(RSA_1, claims(idp.issuer).build())), Reason.IDP_UNAVAILABLE);
      assertTrue(f.description().contains("not a JSON object"), f.description());
    }
  }
}
