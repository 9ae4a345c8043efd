package dev.gatehouse.policy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.gatehouse.identity.Principal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Rules from YAML (bound the way the gateway's config loader binds them), principals, a clock. */
final class Fixtures {

  static final String ISSUER = "https://idp.example.com/realms/acme";

  // The gateway's loader settings that matter for binding: strict keys, no float-as-int.
  static final ObjectMapper YAML = YAMLMapper.builder()
      .disable(MapperFeature.USE_GETTERS_AS_SETTERS)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .build();

  private static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  static List<PolicyRule> rules(String yaml) {
    try {
      return YAML.readValue(yaml, new TypeReference<List<PolicyRule>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static PolicyEngine engine(String yaml) {
    return PolicyEngine.create(rules(yaml));
  }

  static JsonNode json(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Principal user(String subject, String... groups) {
    return new Principal(subject, ISSUER, Optional.empty(), Set.of(groups), Set.of(), Set.of(), Map.of(),
        Principal.Kind.JWT, Optional.empty());
  }

  static Principal withClaims(String subject, Map<String, Object> claims) {
    return new Principal(subject, ISSUER, Optional.empty(), Set.of(), Set.of(), Set.of(), claims, Principal.Kind.JWT,
        Optional.empty());
  }

  static Principal tenantUser(String subject, String tenant, String... groups) {
    return new Principal(subject, ISSUER, Optional.of(tenant), Set.of(groups), Set.of(), Set.of(), Map.of(),
        Principal.Kind.JWT, Optional.empty());
  }

  static Action.Tool tool(String federated) {
    return new Action.Tool(federated.substring(0, federated.indexOf("__")), federated);
  }

  static Action.Tool call(String federated, String argumentsJson) {
    return new Action.Tool(federated.substring(0, federated.indexOf("__")), federated, json(argumentsJson));
  }

  /** A clock that moves only when told to. */
  static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
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
}
