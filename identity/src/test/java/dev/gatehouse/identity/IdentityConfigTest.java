package dev.gatehouse.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/** The config records: YAML binding with snake_case keys, defaults, and validation messages. */
@Timeout(10)
class IdentityConfigTest {
  static final String SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-42";

  /** Like the gateway's loader: unknown keys fail, durations are written 60s / 500ms / 5m. */
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .registerModule(new SimpleModule().addDeserializer(Duration.class, new StdScalarDeserializer<>(Duration.class) {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
          String t = p.getText().strip();
          if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
          }
          long n = Long.parseLong(t.substring(0, t.length() - 1));
          return switch (t.charAt(t.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            default -> Duration.parse(t);
          };
        }
      }));

  static IdentityConfig parse(String yaml) throws IOException {
    return YAML.readValue(yaml, IdentityConfig.class);
  }

  static String message(Executable e) {
    Throwable t = assertThrows(Throwable.class, e);
    while (t.getCause() != null && !(t instanceof IllegalArgumentException)) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  @Test
  void fullYamlBindsWithSnakeCaseKeys() throws Exception {
    IdentityConfig c = parse("""
        issuers:
          - issuer: https://kc.example.com/realms/acme
            audience: [gatehouse, account]
            jwks_uri: https://kc.example.com/realms/acme/protocol/openid-connect/certs
            algorithms: [RS256, ES256]
            token_types: [at+jwt, JWT, ""]
            clock_skew: 30s
            max_token_bytes: 8192
            claims:
              subject: preferred_username
              tenant: tid
              groups: groups
              roles: [realm_access.roles, resource_access.gatehouse.roles]
              scopes: [scope]
            jwks_refresh: 10m
            jwks_min_refetch_interval: 1m
            jwks_outage_tolerance: 2h
          - issuer: https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0
            audience: api://gatehouse
        api_keys:
          - id: ci
            hash: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            subject: ci-bot
            groups: [engineering]
            tenant: acme
            expires: "2030-01-01T00:00:00Z"
            enabled: false
        allow_anonymous: true
        """);
    IssuerConfig kc = c.issuers().get(0);
    assertEquals(List.of("gatehouse", "account"), kc.audience());
    assertEquals(Optional.of(URI.create("https://kc.example.com/realms/acme/protocol/openid-connect/certs")), kc.jwksUri());
    assertEquals(List.of("RS256", "ES256"), kc.algorithms());
    assertEquals(List.of("at+jwt", "JWT", ""), kc.tokenTypes());
    assertEquals(Duration.ofSeconds(30), kc.clockSkew());
    assertEquals(8192, kc.maxTokenBytes());
    assertEquals("preferred_username", kc.claims().subject());
    assertEquals(Optional.of("tid"), kc.claims().tenant());
    assertEquals(List.of("groups"), kc.claims().groups());
    assertEquals(List.of("realm_access.roles", "resource_access.gatehouse.roles"), kc.claims().roles());
    assertEquals(Duration.ofMinutes(10), kc.jwksRefresh());
    assertEquals(Duration.ofHours(2), kc.jwksOutageTolerance());

    IssuerConfig entra = c.issuers().get(1);
    assertEquals(List.of("api://gatehouse"), entra.audience());
    assertEquals(IssuerConfig.DEFAULT_ALGORITHMS, entra.algorithms());
    assertEquals(List.of("at+jwt"), entra.tokenTypes());
    assertEquals(Duration.ofSeconds(60), entra.clockSkew());
    assertEquals(16384, entra.maxTokenBytes());
    assertEquals(IssuerConfig.Claims.defaults(), entra.claims());
    assertFalse(entra.allowHttp());

    ApiKeyConfig key = c.apiKeys().get(0);
    assertEquals(Optional.of(Instant.parse("2030-01-01T00:00:00Z")), key.expires());
    assertFalse(key.enabled());
    assertEquals(Optional.of("acme"), key.tenant());
    assertTrue(c.allowAnonymous());
    assertTrue(c.enabled());
  }

  @Test
  void emptySectionIsIdentityOff() throws Exception {
    assertEquals(IdentityConfig.none(), parse("{}"));
    assertFalse(IdentityConfig.none().enabled());
  }

  @Test
  void unknownKeysAreRejected() {
    assertThrows(UnrecognizedPropertyException.class, () -> parse("issuers: [{issuer: https://a.example, audience: x, groups_claim: g}]"));
    assertThrows(UnrecognizedPropertyException.class, () -> parse("api_key: []"));
  }

  @Test
  void algNoneIsRejectedInAnyCasing() {
    for (String none : List.of("none", "None", "NONE", " none ")) {
      String m = message(() -> IssuerConfig.of("https://a.example", "x").withAlgorithms(List.of("RS256", none)));
      assertTrue(m.startsWith("algorithms[1]:") && m.contains("never accepted"), m);
    }
  }

  @Test
  void hmacNeedsASharedSecretAndASharedSecretAllowsOnlyHmac() {
    String m = message(() -> IssuerConfig.of("https://a.example", "x").withAlgorithms(List.of("HS256")));
    assertTrue(m.contains("needs a shared_secret"), m);
    m = message(() -> IssuerConfig.of("https://a.example", "x").withSharedSecret(SECRET).withAlgorithms(List.of("HS256", "RS256")));
    assertTrue(m.startsWith("algorithms[1]: 'RS256' with a shared_secret"), m);
    IssuerConfig hmac = IssuerConfig.of("https://a.example", "x").withSharedSecret(SECRET);
    assertEquals(List.of("HS256"), hmac.algorithms());
    assertTrue(hmac.hmac());
  }

  @Test
  void shortSharedSecretIsRejectedWithoutEchoingIt() {
    String m = message(() -> IssuerConfig.of("https://a.example", "x").withSharedSecret("short-secret"));
    assertEquals("shared_secret: 12 bytes (expected: >= 32 bytes for HS256)", m);
    assertFalse(m.contains("short-secret"));
  }

  @Test
  void sharedSecretNeverAppearsInToString() {
    IssuerConfig c = IssuerConfig.of("https://a.example", "x").withSharedSecret(SECRET);
    assertFalse(c.toString().contains(SECRET), c::toString);
    assertFalse(new IdentityConfig(List.of(c), List.of(), false).toString().contains(SECRET));
  }

  @Test
  void unknownAlgorithmGetsAHint() {
    String m = message(() -> IssuerConfig.of("https://a.example", "x").withAlgorithms(List.of("rs256")));
    assertTrue(m.startsWith("algorithms[0]: 'rs256' (did you mean RS256?)"), m);
  }

  @Test
  void plainHttpOnlyForLoopbackAndOnlyWhenAllowed() {
    String m = message(() -> IssuerConfig.of("http://idp.example.com", "x"));
    assertTrue(m.startsWith("issuer: 'http://idp.example.com' (expected: an https URL"), m);
    m = message(() -> IssuerConfig.of("http://idp.example.com", "x", true));
    assertTrue(m.startsWith("issuer: 'http://idp.example.com'"), m);
    assertThrows(IllegalArgumentException.class, () -> IssuerConfig.of("http://127.0.0.1:8080/realms/a", "x"));
    for (String loopback : List.of("http://127.0.0.1:8080/realms/a", "http://localhost:8080", "http://[::1]:9000/x", "http://127.1.2.3")) {
      assertTrue(IssuerConfig.of(loopback, "x", true).allowHttp());
    }
    m = message(() -> IssuerConfig.of("https://a.example", "x").withJwksUri(URI.create("http://keys.example.com/jwks")));
    assertTrue(m.startsWith("jwks_uri:"), m);
    m = message(() -> IssuerConfig.of("https://user:pw@a.example", "x"));
    assertTrue(m.startsWith("issuer:"), m);
  }

  @Test
  void issuerThatIsNotAUrlNeedsAnExplicitJwksUri() throws Exception {
    // Google's ID tokens may carry iss "accounts.google.com": no discovery from that, so jwks_uri is required.
    IdentityConfig c = parse("""
        issuers:
          - issuer: accounts.google.com
            audience: 1234.apps.googleusercontent.com
            jwks_uri: https://www.googleapis.com/oauth2/v3/certs
            token_types: [JWT]
        """);
    assertEquals("accounts.google.com", c.issuers().get(0).issuer());
    assertThrows(ValueInstantiationException.class, () -> parse("issuers: [{issuer: accounts.google.com, audience: x}]"));
  }

  @Test
  void durationsAndSizesAreChecked() {
    IssuerConfig base = IssuerConfig.of("https://a.example", "x");
    assertEquals("clock_skew: -1s (expected: >= 0 and <= 10m)", message(() -> base.withClockSkew(Duration.ofSeconds(-1))));
    assertEquals("max_token_bytes: 10 (expected: 256..1048576)", message(() -> base.withMaxTokenBytes(10)));
    assertEquals("jwks_min_refetch_interval: 30s (expected: < jwks_refresh, 20s)",
        message(() -> base.withJwksTimings(Duration.ofSeconds(20), Duration.ofSeconds(30), Duration.ofHours(1))));
    assertEquals("jwks_outage_tolerance: 0s (expected: > 0)",
        message(() -> base.withJwksTimings(Duration.ofMinutes(5), Duration.ofSeconds(30), Duration.ZERO)));
  }

  @Test
  void audienceIsRequired() {
    assertTrue(message(() -> IssuerConfig.of("https://a.example", null)).startsWith("audience: missing"));
    assertTrue(message(() -> parse("issuers: [{issuer: https://a.example}]")).startsWith("audience: missing"));
  }

  @Test
  void tokenTypeNoneIsNotTheSpellingForAbsent() {
    String m = message(() -> IssuerConfig.of("https://a.example", "x").withTokenTypes(List.of("at+jwt", "none")));
    assertTrue(m.contains("\"\" to accept tokens without a typ header"), m);
  }

  @Test
  void duplicatesAreRejected() {
    IssuerConfig a = IssuerConfig.of("https://a.example", "x");
    assertTrue(message(() -> new IdentityConfig(List.of(a, a.withAudience(List.of("y"))), List.of(), false))
        .startsWith("issuers[1].issuer: 'https://a.example' is configured twice"));
    ApiKeyConfig k = ApiKeyConfig.of("ci", ApiKeys.hash("gk_x"), "ci-bot");
    assertTrue(message(() -> new IdentityConfig(List.of(), List.of(k, k), false)).startsWith("api_keys[1].id: 'ci' is used twice"));
  }

  @Test
  void apiKeyEntryRejectsAPastedPlaintextKeyWithoutEchoingIt() {
    String key = ApiKeys.generate();
    String m = message(() -> ApiKeyConfig.of("ci", key, "ci-bot"));
    assertTrue(m.contains("looks like the key itself"), m);
    assertFalse(m.contains(key));
    assertTrue(message(() -> parse("api_keys: [{id: ci, hash: 'sha256:ab', subject: s}]")).startsWith("hash:"));
    String h = ApiKeys.hash("gk_x");
    assertTrue(message(() -> parse("api_keys: [{id: ci, hash: '" + h + "', subject: s, expires: tomorrow}]")).startsWith("expires: 'tomorrow'"));
    assertTrue(message(() -> ApiKeyConfig.of("bad id", h, "s")).startsWith("id: 'bad id'"));
  }
}
