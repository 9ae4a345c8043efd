package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Date;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running gateway whose identity provider's key endpoint stops answering: tokens signed with a key the
 * gateway holds keep working past jwks_refresh, at once, for as long as the outage tolerance allows.
 */
@Timeout(60)
class JwksOutageEndToEndTest {
  @TempDir
  Path dir;

  @Test
  void aHangingJwksEndpointLocksNobodyOut() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
    AtomicInteger hits = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean hang = new java.util.concurrent.atomic.AtomicBoolean();
    HttpServer idp = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    idp.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    idp.createContext("/jwks", ex -> {
      hits.incrementAndGet();
      if (hang.get()) {
        try {
          release.await(); // accepted, never answered
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      byte[] body = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    idp.start();
    String issuer = "http://127.0.0.1:" + idp.getAddress().getPort() + "/idp";
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\n"
        + "identity:\n  issuers:\n    - issuer: \"" + issuer + "\"\n      audience: gatehouse\n      allow_http: true\n"
        + "      jwks_uri: \"http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks\"\n      token_types: [JWT]\n"
        + "      jwks_refresh: 2s\n      jwks_min_refetch_interval: 1s\n"
        + "audit: { enabled: false }\n");
    try (Gateway g = Gateway.start(new ConfigLoader().load(file), Optional.of(file))) {
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").type(JOSEObjectType.JWT).build(),
          new JWTClaimsSet.Builder().issuer(issuer).subject("alice").audience("gatehouse")
              .expirationTime(new Date(System.currentTimeMillis() + 600_000)).build());
      jwt.sign(new RSASSASigner(key));
      String token = jwt.serialize();
      assertEquals(200, initialize(g, token).statusCode(), "the key is fetched and the token accepted");

      hang.set(true);
      TestUpstreams.await("a background refresh to reach the hung endpoint", Duration.ofSeconds(10), () -> hits.get() >= 2);
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = initialize(g, token);
        assertEquals(200, r.statusCode(), r.body()); // was 503 "JWKS could not be fetched" once jwks_refresh had passed
      }
      assertTrue(hits.get() >= 2);
    } finally {
      release.countDown();
      idp.stop(0);
    }
  }

  static HttpResponse<String> initialize(Gateway g, String token) {
    return McpHttp.post(g.baseUri().resolve("/mcp"), null, McpHttp.INIT, McpHttp.bearer(token));
  }
}
