package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.accepted;
import static dev.gatehouse.identity.Tokens.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.identity.AuthResult.Reason;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Header handling, anonymous access and gateway API keys. */
@Timeout(10)
class AuthenticatorTest {
  static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  static final String KEY = ApiKeys.generate();
  static final String DISABLED_KEY = ApiKeys.generate();
  static final String EXPIRED_KEY = ApiKeys.generate();

  static IdentityConfig keys(boolean allowAnonymous) {
    return new IdentityConfig(List.of(), List.of(
        ApiKeyConfig.of("ci", ApiKeys.hash(KEY), "ci-bot").withGroups(List.of("engineering")).withRoles(List.of("deployer"))
            .withScopes(List.of("tools:call")).withTenant("acme").withExpires(NOW.plusSeconds(3600)),
        ApiKeyConfig.of("old", ApiKeys.hash(DISABLED_KEY), "old-bot").withEnabled(false),
        ApiKeyConfig.of("temp", ApiKeys.hash(EXPIRED_KEY), "temp-bot").withExpires(NOW)), allowAnonymous);
  }

  static Authenticator authenticator(IdentityConfig config) {
    return DefaultAuthenticator.create(config, CLOCK, FetchSettings.defaults());
  }

  @Test
  void nothingConfiguredMakesEveryoneAnonymous() {
    try (Authenticator auth = Authenticator.create(IdentityConfig.none())) {
      assertFalse(auth.enabled());
      assertTrue(auth.anonymousAllowed());
      assertEquals(Principal.anonymous(), accepted(auth.authenticate(Optional.empty(), Optional.empty())));
      assertEquals(Principal.anonymous(), accepted(auth.authenticate(Optional.of("Bearer whatever"), Optional.empty())));
    }
  }

  @Test
  void missingCredentialsAreRefusedOnceIdentityIsConfigured() {
    try (Authenticator auth = authenticator(keys(false))) {
      assertTrue(auth.enabled());
      assertFalse(auth.anonymousAllowed());
      refused(auth.authenticate(Optional.empty(), Optional.empty()), Reason.MISSING);
      refused(auth.authenticate(Optional.of("  "), Optional.of("")), Reason.MISSING);
    }
  }

  @Test
  void anonymousIsAllowedOnlyWithoutCredentials() {
    try (Authenticator auth = authenticator(keys(true))) {
      assertTrue(auth.anonymousAllowed());
      assertEquals(Principal.Kind.ANONYMOUS, accepted(auth.authenticate(Optional.empty(), Optional.empty())).kind());
      // Bad credentials are refused even where anonymous access is allowed: no silent downgrade.
      refused(auth.authenticate(Optional.empty(), Optional.of(ApiKeys.generate())), Reason.UNKNOWN_API_KEY);
    }
  }

  @Test
  void validKeyBecomesItsConfiguredPrincipal() {
    try (Authenticator auth = authenticator(keys(false))) {
      for (AuthResult result : List.of(
          auth.authenticate(Optional.empty(), Optional.of(KEY)),
          auth.authenticate(Optional.of("Bearer " + KEY), Optional.empty()),
          auth.authenticate(Optional.of("bearer   " + KEY + " "), Optional.empty()))) {
        Principal p = accepted(result);
        assertEquals("ci-bot", p.subject());
        assertEquals(Principal.API_KEY_ISSUER, p.issuer());
        assertEquals(Optional.of("acme"), p.tenant());
        assertEquals(Set.of("engineering"), p.groups());
        assertEquals(Set.of("deployer"), p.roles());
        assertEquals(Set.of("tools:call"), p.scopes());
        assertEquals(Principal.Kind.API_KEY, p.kind());
        assertEquals(Optional.of("ci"), p.keyId());
        assertTrue(p.claims().isEmpty());
      }
    }
  }

  @Test
  void disabledExpiredAndUnknownKeysAreRefused() {
    try (Authenticator auth = authenticator(keys(false))) {
      refused(auth.authenticate(Optional.empty(), Optional.of(DISABLED_KEY)), Reason.KEY_DISABLED);
      refused(auth.authenticate(Optional.empty(), Optional.of(EXPIRED_KEY)), Reason.KEY_EXPIRED);
      refused(auth.authenticate(Optional.empty(), Optional.of(ApiKeys.generate())), Reason.UNKNOWN_API_KEY);
      refused(auth.authenticate(Optional.of("Bearer " + ApiKeys.generate()), Optional.empty()), Reason.UNKNOWN_API_KEY);
      refused(auth.authenticate(Optional.empty(), Optional.of("not-a-gateway-key")), Reason.MALFORMED);
      refused(auth.authenticate(Optional.empty(), Optional.of("gk_short")), Reason.MALFORMED);
      refused(auth.authenticate(Optional.empty(), Optional.of("gk_" + "a".repeat(400))), Reason.TOO_LARGE);
    }
  }

  @Test
  void keyStopsWorkingAtItsExpiry() {
    IdentityConfig config = keys(false);
    try (Authenticator before = DefaultAuthenticator.create(config, Clock.fixed(NOW.plusSeconds(3599), ZoneOffset.UTC), FetchSettings.defaults());
        Authenticator after = DefaultAuthenticator.create(config, Clock.fixed(NOW.plusSeconds(3600), ZoneOffset.UTC), FetchSettings.defaults())) {
      accepted(before.authenticate(Optional.empty(), Optional.of(KEY)));
      refused(after.authenticate(Optional.empty(), Optional.of(KEY)), Reason.KEY_EXPIRED);
    }
  }

  @Test
  void authorizationHeaderMustBeBearer() {
    try (Authenticator auth = authenticator(keys(false))) {
      refused(auth.authenticate(Optional.of("Basic dXNlcjpwYXNz"), Optional.empty()), Reason.MALFORMED);
      refused(auth.authenticate(Optional.of("Bearer"), Optional.empty()), Reason.MALFORMED);
      refused(auth.authenticate(Optional.of("Bearer a b"), Optional.empty()), Reason.MALFORMED);
      refused(auth.authenticate(Optional.of(KEY), Optional.empty()), Reason.MALFORMED);
      refused(auth.authenticate(Optional.of("Bearer " + "x".repeat(70_000)), Optional.empty()), Reason.TOO_LARGE);
    }
  }

  @Test
  void twoCredentialsAtOnceAreRefused() {
    try (Authenticator auth = authenticator(keys(false))) {
      refused(auth.authenticate(Optional.of("Bearer " + KEY), Optional.of(KEY)), Reason.MALFORMED);
    }
  }

  @Test
  void jwtWithoutAnyIssuerConfiguredIsAnUnknownIssuer() {
    try (Authenticator auth = authenticator(keys(false))) {
      String token = Tokens.sign(Tokens.RSA_1, Tokens.claims("https://idp.example.com").build());
      refused(auth.authenticate(Tokens.bearer(token), Optional.empty()), Reason.UNKNOWN_ISSUER);
    }
  }

  @Test
  void sharedSecretIssuerVerifiesHmacTokensOnly() throws Exception {
    String secret = "0123456789abcdef0123456789abcdef-long-enough";
    IssuerConfig issuer = IssuerConfig.of("https://internal.example.com", Tokens.AUDIENCE).withSharedSecret(secret);
    try (Authenticator auth = authenticator(new IdentityConfig(List.of(issuer), List.of(), false))) {
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType("at+jwt")).build(),
          Tokens.claims(issuer.issuer()).expirationTime(Date.from(NOW.plusSeconds(60))).issueTime(Date.from(NOW)).build());
      jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
      assertEquals("alice", accepted(auth.authenticate(Tokens.bearer(jwt.serialize()), Optional.empty())).subject());

      SignedJWT forged = new SignedJWT(jwt.getHeader(), jwt.getJWTClaimsSet());
      forged.sign(new MACSigner("another-secret-that-is-long-enough-32b".getBytes(StandardCharsets.UTF_8)));
      refused(auth.authenticate(Tokens.bearer(forged.serialize()), Optional.empty()), Reason.BAD_SIGNATURE);

      SignedJWT withKid = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType("at+jwt")).keyID("v7").build(),
          jwt.getJWTClaimsSet());
      withKid.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
      accepted(auth.authenticate(Tokens.bearer(withKid.serialize()), Optional.empty()));

      SignedJWT hs512 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS512).type(new JOSEObjectType("at+jwt")).build(),
          jwt.getJWTClaimsSet());
      hs512.sign(new MACSigner((secret + secret).getBytes(StandardCharsets.UTF_8)));
      refused(auth.authenticate(Tokens.bearer(hs512.serialize()), Optional.empty()), Reason.UNSUPPORTED_ALGORITHM);

      String rsa = Tokens.sign(Tokens.RSA_1, Tokens.claims(issuer.issuer()).build());
      refused(auth.authenticate(Tokens.bearer(rsa), Optional.empty()), Reason.UNSUPPORTED_ALGORITHM);
    }
  }

  @Test
  void plaintextKeyNeverAppearsInResultsOrLogs() {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    try (Authenticator auth = authenticator(keys(false))) {
      for (String key : List.of(KEY, DISABLED_KEY, EXPIRED_KEY)) {
        seen.append(auth.authenticate(Optional.empty(), Optional.of(key))).append('\n');
        seen.append(auth.authenticate(Optional.of("Bearer " + key), Optional.of(key))).append('\n');
      }
    } finally {
      System.setErr(original);
    }
    String all = seen + captured.toString(StandardCharsets.UTF_8) + keys(false);
    for (String key : List.of(KEY, DISABLED_KEY, EXPIRED_KEY)) {
      assertFalse(all.contains(key), "a plaintext key leaked");
      assertFalse(all.contains(key.substring(3, 20)), "part of a plaintext key leaked");
    }
  }
}
