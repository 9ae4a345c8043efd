package dev.gatehouse.identity;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.gatehouse.identity.AuthResult.Reason;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

/** Keys (generated once per test JVM) and token builders for the tests. */
final class Tokens {
  static final String AUDIENCE = "gatehouse";
  static final RSAKey RSA_1 = rsa("k1");
  static final RSAKey RSA_2 = rsa("k2");
  /** Same kid as {@link #RSA_1}, different key: what a forger without the private key has. */
  static final RSAKey FORGER = rsa("k1");
  static final ECKey EC_1 = ec("e1");

  private Tokens() {}

  /** Claims that pass: iss, sub alice, aud gatehouse, exp in 5 minutes, iat now. */
  static JWTClaimsSet.Builder claims(String issuer) {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject("alice")
        .audience(AUDIENCE)
        .expirationTime(Date.from(now.plus(Duration.ofMinutes(5))))
        .issueTime(Date.from(now))
        .jwtID(UUID.randomUUID().toString());
  }

  static JWSHeader.Builder header(JWSAlgorithm alg, JWK key) {
    return new JWSHeader.Builder(alg).type(new JOSEObjectType("at+jwt")).keyID(key.getKeyID());
  }

  /** Signed with {@code key} ({@code RS256} for RSA, {@code ES256} for EC), typ at+jwt, kid set. */
  static String sign(JWK key, JWTClaimsSet claims) {
    JWSAlgorithm alg = key instanceof ECKey ? JWSAlgorithm.ES256 : JWSAlgorithm.RS256;
    return sign(header(alg, key).build(), key, claims);
  }

  static String sign(JWSHeader header, JWK key, JWTClaimsSet claims) {
    try {
      JWSSigner signer = key instanceof ECKey ec ? new ECDSASigner(ec) : new RSASSASigner((RSAKey) key);
      SignedJWT jwt = new SignedJWT(header, claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Three parts made by hand, for tokens no library would produce. */
  static String raw(String headerJson, String payloadJson, String signature) {
    return Base64URL.encode(headerJson).toString() + "." + Base64URL.encode(payloadJson).toString() + "." + signature;
  }

  static Optional<String> bearer(String token) {
    return Optional.of("Bearer " + token);
  }

  static Principal accepted(AuthResult result) {
    if (result instanceof AuthResult.Authenticated a) {
      return a.principal();
    }
    return fail("expected a principal, got " + ((AuthResult.Failed) result).failure());
  }

  static AuthResult.Failure refused(AuthResult result, Reason reason) {
    AuthResult.Failed failed = assertInstanceOf(AuthResult.Failed.class, result, () -> "expected " + reason + ", got " + result);
    assertEquals(reason, failed.failure().reason(), failed.failure()::toString);
    assertEquals(reason.status(), failed.failure().status());
    return failed.failure();
  }

  private static RSAKey rsa(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).generate();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static ECKey ec(String kid) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
