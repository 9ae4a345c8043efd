package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.AUDIENCE;
import static dev.gatehouse.identity.Tokens.FORGER;
import static dev.gatehouse.identity.Tokens.RSA_1;
import static dev.gatehouse.identity.Tokens.RSA_2;
import static dev.gatehouse.identity.Tokens.accepted;
import static dev.gatehouse.identity.Tokens.bearer;
import static dev.gatehouse.identity.Tokens.claims;
import static dev.gatehouse.identity.Tokens.header;
import static dev.gatehouse.identity.Tokens.raw;
import static dev.gatehouse.identity.Tokens.refused;
import static dev.gatehouse.identity.Tokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.identity.AuthResult.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Forged, tampered and malformed tokens against a real issuer (JWKS on loopback): every one is a 401
 * with its own reason, never an exception, and none makes the gateway fetch a URL the token names.
 */
@Timeout(20)
class AttackTest {
  static final FetchSettings FAST = new FetchSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 64 * 1024);

  static TestIdp idp;
  static TestIdp other;
  static TestIdp bait;
  static Authenticator auth;

  @BeforeAll
  static void start() throws Exception {
    idp = TestIdp.start(RSA_1);
    other = TestIdp.start("/other", RSA_2);
    bait = TestIdp.start("/bait", FORGER);
    IssuerConfig strict = idp.config().withAlgorithms(List.of("RS256")).withMaxTokenBytes(4096);
    auth = DefaultAuthenticator.create(new IdentityConfig(List.of(strict, other.config()), List.of(), false), Clock.systemUTC(), FAST);
  }

  @AfterAll
  static void stop() {
    auth.close();
    idp.close();
    other.close();
    bait.close();
  }

  private static AuthResult check(String token) {
    return auth.authenticate(bearer(token), Optional.empty());
  }

  @Test
  void wellFormedTokenIsAcceptedSoTheRefusalsBelowMeanSomething() {
    Principal p = accepted(check(sign(RSA_1, claims(idp.issuer).build())));
    assertEquals("alice", p.subject());
    assertEquals(idp.issuer, p.issuer());
  }

  @Test
  void algNoneIsRefusedInAnyCasing() {
    String payload = claims(idp.issuer).build().toString();
    for (String alg : List.of("none", "None", "NONE", "nOnE")) {
      for (String sig : List.of("", "c2ln")) {
        String token = raw("{\"alg\":\"" + alg + "\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", payload, sig);
        refused(check(token), Reason.UNSUPPORTED_ALGORITHM);
      }
    }
  }

  @Test
  void hs256SignedWithTheRsaPublicKeyIsRefused() throws Exception {
    // The classic key-confusion forgery: the verifier's public key used as an HMAC secret.
    byte[] der = RSA_1.toRSAPublicKey().getEncoded();
    String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.encode(der) + "\n-----END PUBLIC KEY-----\n";
    for (byte[] secret : List.of(der, pem.getBytes(StandardCharsets.UTF_8), RSA_1.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8))) {
      SignedJWT jwt = new SignedJWT(header(JWSAlgorithm.HS256, RSA_1).build(), claims(idp.issuer).build());
      jwt.sign(new MACSigner(secret));
      refused(check(jwt.serialize()), Reason.UNSUPPORTED_ALGORITHM);
    }
  }

  @Test
  void algorithmOffTheAllowListIsRefused() {
    String token = sign(header(JWSAlgorithm.RS512, RSA_1).build(), RSA_1, claims(idp.issuer).build());
    AuthResult.Failure f = refused(check(token), Reason.UNSUPPORTED_ALGORITHM);
    assertTrue(f.description().contains("RS512"), f.description());
    // PS256 is a default algorithm but this issuer allows only RS256.
    refused(check(sign(header(JWSAlgorithm.PS256, RSA_1).build(), RSA_1, claims(idp.issuer).build())), Reason.UNSUPPORTED_ALGORITHM);
  }

  @Test
  void unknownKidIsRefused() {
    refused(check(sign(RSA_2, claims(idp.issuer).build())), Reason.UNKNOWN_KEY);
  }

  @Test
  void sameKidSignedByAnotherKeyFailsTheSignature() {
    refused(check(sign(FORGER, claims(idp.issuer).build())), Reason.BAD_SIGNATURE);
  }

  @Test
  void expiredTokenIsRefusedButSkewIsHonoured() {
    Instant now = Instant.now();
    JWTClaimsSet expired = claims(idp.issuer).expirationTime(Date.from(now.minusSeconds(120))).issueTime(Date.from(now.minusSeconds(900))).build();
    refused(check(sign(RSA_1, expired)), Reason.EXPIRED);
    JWTClaimsSet withinSkew = claims(idp.issuer).expirationTime(Date.from(now.minusSeconds(20))).build();
    accepted(check(sign(RSA_1, withinSkew)));
  }

  @Test
  void notYetValidTokenIsRefused() {
    Instant now = Instant.now();
    refused(check(sign(RSA_1, claims(idp.issuer).notBeforeTime(Date.from(now.plusSeconds(600))).build())), Reason.NOT_YET_VALID);
    refused(check(sign(RSA_1, claims(idp.issuer).issueTime(Date.from(now.plusSeconds(600))).build())), Reason.NOT_YET_VALID);
    accepted(check(sign(RSA_1, claims(idp.issuer).notBeforeTime(Date.from(now.plusSeconds(20))).build())));
  }

  @Test
  void tokenWithoutExpIsRefused() {
    AuthResult.Failure f = refused(check(sign(RSA_1, claims(idp.issuer).expirationTime(null).build())), Reason.MISSING_CLAIM);
    assertTrue(f.description().contains("exp"), f.description());
  }

  @Test
  void unknownIssuerIsRefusedWithoutAnyFetch() {
    int before = bait.hits();
    refused(check(sign(FORGER, claims(bait.issuer).build())), Reason.UNKNOWN_ISSUER);
    refused(check(sign(RSA_1, claims("https://evil.example/").build())), Reason.UNKNOWN_ISSUER);
    refused(check(sign(RSA_1, claims(idp.issuer + "/").build())), Reason.UNKNOWN_ISSUER);
    assertEquals(before, bait.hits());
  }

  @Test
  void tokenWithoutIssIsRefused() {
    refused(check(sign(RSA_1, claims(idp.issuer).issuer(null).build())), Reason.MISSING_CLAIM);
  }

  @Test
  void tokenOfOneIssuerClaimingAnotherIssuerIsRefused() {
    // Signed with issuer A's key but claiming to be from issuer B: B's keys decide, and they do not match.
    AuthResult result = check(sign(RSA_1, claims(other.issuer).build()));
    assertFalse(result instanceof AuthResult.Authenticated);
    Reason r = ((AuthResult.Failed) result).failure().reason();
    assertTrue(r == Reason.UNKNOWN_KEY || r == Reason.BAD_SIGNATURE, r::toString);
    // And B's genuine token is still fine.
    accepted(check(sign(RSA_2, claims(other.issuer).build())));
  }

  @Test
  void wrongAudienceIsRefused() {
    refused(check(sign(RSA_1, claims(idp.issuer).audience("someone-else").build())), Reason.WRONG_AUDIENCE);
    refused(check(sign(RSA_1, claims(idp.issuer).audience((String) null).build())), Reason.WRONG_AUDIENCE);
    accepted(check(sign(RSA_1, claims(idp.issuer).audience(List.of("someone-else", AUDIENCE)).build())));
  }

  @Test
  void tokenForAnotherResourceIsRefused() {
    // A token the same IdP minted for another API must not open this gateway.
    JWTClaimsSet forBilling = claims(idp.issuer).audience("https://billing.example.com/api").claim("scope", "billing.read").build();
    refused(check(sign(RSA_1, forBilling)), Reason.WRONG_AUDIENCE);
  }

  @Test
  void tamperedPayloadIsRefused() {
    String token = sign(RSA_1, claims(idp.issuer).claim("groups", List.of("users")).build());
    String[] parts = token.split("\\.");
    String forged = Base64URL.encode(claims(idp.issuer).claim("groups", List.of("admins")).build().toString()).toString();
    refused(check(parts[0] + "." + forged + "." + parts[2]), Reason.BAD_SIGNATURE);
    // Flipping one signature character is caught the same way.
    char last = parts[2].charAt(5);
    String flipped = parts[2].substring(0, 5) + (last == 'A' ? 'B' : 'A') + parts[2].substring(6);
    refused(check(parts[0] + "." + parts[1] + "." + flipped), Reason.BAD_SIGNATURE);
  }

  @Test
  void oversizedTokenIsRefused() {
    String big = "x".repeat(5000);
    refused(check(sign(RSA_1, claims(idp.issuer).claim("padding", big).build())), Reason.TOO_LARGE);
    refused(check("a".repeat(100_000) + ".b.c"), Reason.TOO_LARGE);
  }

  @Test
  void malformedTokenStringsAreRefused() {
    String header = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    String payload = claims(idp.issuer).build().toString();
    for (String token : List.of(
        "garbage",
        "two.parts",
        "four.parts.are.wrong",
        "!!!.@@@.###",
        "eyJ%%%.e30.sig",
        "..",
        raw("[1,2,3]", payload, "c2ln"),
        raw("not json", payload, "c2ln"),
        raw("{\"typ\":\"at+jwt\"}", payload, "c2ln"),
        raw("{\"alg\":42}", payload, "c2ln"),
        raw(header, "[\"not\",\"an\",\"object\"]", "c2ln"),
        raw(header, "\"just a string\"", "c2ln"),
        raw(header, "{\"iss\":", "c2ln"))) {
      AuthResult result = check(token);
      refused(result, Reason.MALFORMED);
    }
    refused(check("a.b.c.d.e"), Reason.UNSUPPORTED_ALGORITHM);
  }

  @Test
  void keysInTheHeaderAreRefusedAndTheirUrlsNeverFetched() throws Exception {
    JWTClaimsSet claims = claims(idp.issuer).build();
    int before = bait.hits();
    JWSHeader jku = header(JWSAlgorithm.RS256, FORGER).jwkURL(bait.jwksUri()).build();
    JWSHeader x5u = header(JWSAlgorithm.RS256, FORGER).x509CertURL(bait.url("/cert.pem")).build();
    JWSHeader jwk = header(JWSAlgorithm.RS256, FORGER).jwk(FORGER.toPublicJWK()).build();
    JWSHeader x5c = header(JWSAlgorithm.RS256, FORGER).x509CertChain(List.of(Base64.encode("not really a cert"))).build();
    for (JWSHeader h : List.of(jku, x5u, jwk, x5c)) {
      refused(check(sign(h, FORGER, claims)), Reason.FORBIDDEN_HEADER);
    }
    // Even with the real key, a token that names a key URL is refused.
    refused(check(sign(header(JWSAlgorithm.RS256, RSA_1).jwkURL(bait.jwksUri()).build(), RSA_1, claims)), Reason.FORBIDDEN_HEADER);
    Thread.sleep(100);
    assertEquals(before, bait.hits(), "a URL named in a token header was fetched");
  }

  @Test
  void claimOfTheWrongTypeIsRefused() {
    refused(check(sign(RSA_1, claims(idp.issuer).claim("groups", 42).build())), Reason.BAD_CLAIM);
    refused(check(sign(RSA_1, claims(idp.issuer).claim("groups", List.of("ok", 7)).build())), Reason.BAD_CLAIM);
    refused(check(sign(RSA_1, claims(idp.issuer).claim("roles", Map.of("a", "b")).build())), Reason.BAD_CLAIM);
    refused(check(sign(RSA_1, claims(idp.issuer).claim("scope", true).build())), Reason.BAD_CLAIM);
    // Registered claims of the wrong type cannot even be parsed as a claims set.
    String header = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    long exp = Instant.now().plusSeconds(300).getEpochSecond();
    // Nimbus would read a numeric sub as a string; the mapping reads the claims as sent.
    refused(check(sign(RSA_1, claims(idp.issuer).claim("sub", 123).build())), Reason.BAD_CLAIM);
    refused(check(raw(header, "{\"iss\":\"" + idp.issuer + "\",\"sub\":\"a\",\"aud\":\"gatehouse\",\"exp\":\"tomorrow\"}", "c2ln")), Reason.BAD_CLAIM);
    refused(check(raw(header, "{\"iss\":[\"" + idp.issuer + "\"],\"sub\":\"a\",\"aud\":\"gatehouse\",\"exp\":" + exp + "}", "c2ln")), Reason.BAD_CLAIM);
  }

  @Test
  void missingOrBlankSubjectIsRefused() {
    refused(check(sign(RSA_1, claims(idp.issuer).subject(null).build())), Reason.MISSING_CLAIM);
    refused(check(sign(RSA_1, claims(idp.issuer).subject(" ").build())), Reason.BAD_CLAIM);
  }

  @Test
  void wrongTypHeaderIsRefusedAndMissingTypDoesNotThrow() {
    JWTClaimsSet claims = claims(idp.issuer).build();
    refused(check(sign(header(JWSAlgorithm.RS256, RSA_1).type(JOSEObjectType.JWT).build(), RSA_1, claims)), Reason.BAD_TYPE);
    refused(check(sign(header(JWSAlgorithm.RS256, RSA_1).type(null).build(), RSA_1, claims)), Reason.BAD_TYPE);
    accepted(check(sign(header(JWSAlgorithm.RS256, RSA_1).type(new JOSEObjectType("application/AT+JWT")).build(), RSA_1, claims)));
  }

  @Test
  void descriptionsNeverContainTheToken() {
    List<String> tokens = List.of(
        sign(RSA_2, claims(idp.issuer).build()),
        sign(FORGER, claims(idp.issuer).build()),
        sign(RSA_1, claims(idp.issuer).audience("x").build()),
        raw("{\"alg\":\"none\"}", claims(idp.issuer).build().toString(), ""));
    for (String token : tokens) {
      AuthResult.Failed f = (AuthResult.Failed) check(token);
      for (String part : token.split("\\.")) {
        if (part.length() > 8) {
          assertFalse(f.failure().description().contains(part), f.failure().description());
        }
      }
    }
  }
}
