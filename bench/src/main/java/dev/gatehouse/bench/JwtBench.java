package dev.gatehouse.bench;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.Authenticator;
import dev.gatehouse.identity.IdentityConfig;
import dev.gatehouse.identity.IssuerConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Authentication as the gateway runs it on every request, through {@code Authenticator.authenticate}:
 * an OIDC access token (JWT) checked against a JWKS served from an in-process HTTP server on loopback
 * (fetched once during setup, then cached, so the benchmark measures validation with a cached key).
 * Gateway API keys are {@link ApiKeyBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class JwtBench {
  @Param({"RS256", "ES256"})
  public String alg;

  private HttpServer jwks;
  private Authenticator jwt;
  private String bearer;
  private final AtomicInteger fetches = new AtomicInteger();

  @Setup
  public void setup() throws Exception {
    JWK key;
    JWSSigner signer;
    if (alg.equals("ES256")) {
      var ec = new ECKeyGenerator(Curve.P_256).keyID("bench-es").generate();
      key = ec;
      signer = new ECDSASigner(ec);
    } else {
      var rsa = new RSAKeyGenerator(2048).keyID("bench-rs").generate();
      key = rsa;
      signer = new RSASSASigner(rsa);
    }
    byte[] set = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
    jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    jwks.createContext("/jwks", ex -> {
      fetches.incrementAndGet();
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, set.length);
      ex.getResponseBody().write(set);
      ex.close();
    });
    jwks.start();
    String base = "http://127.0.0.1:" + jwks.getAddress().getPort();
    String issuer = base + "/realms/bench";
    IssuerConfig ic = IssuerConfig.of(issuer, "gatehouse", true).withJwksUri(URI.create(base + "/jwks"))
        .withAlgorithms(List.of(alg));
    jwt = Authenticator.create(new IdentityConfig(List.of(ic), List.of(), false));
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).audience("gatehouse").subject("bench-agent")
        .expirationTime(new Date(System.currentTimeMillis() + 3_600_000)).issueTime(new Date())
        .claim("groups", List.of("bench")).claim("scope", "tools:call").build();
    SignedJWT token = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.parse(alg)).type(new JOSEObjectType("at+jwt"))
        .keyID(key.getKeyID()).build(), claims);
    token.sign(signer);
    bearer = "Bearer " + token.serialize();
    AuthResult first = jwt.authenticate(Optional.of(bearer), Optional.empty());
    if (!(first instanceof AuthResult.Authenticated)) {
      throw new IllegalStateException("the bench token must be accepted: " + first);
    }
  }

  @Benchmark
  public AuthResult jwtCachedKey() {
    return jwt.authenticate(Optional.of(bearer), Optional.empty());
  }

  @TearDown
  public void tearDown() {
    jwt.close();
    jwks.stop(0);
    if (fetches.get() > 2) {
      throw new IllegalStateException("the JWKS was fetched " + fetches.get() + " times: keys were not cached");
    }
  }
}
