package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ConfigViewTest {

  @Test
  void secretsAreMaskedAndEnvironmentReferencesAndOrdinaryValuesStay() {
    String shown = ConfigView.masked("""
        upstreams:
          gh:
            transport: streamable-http
            url: https://api.example.com/mcp
            headers: { Authorization: "Bearer ghp_literal", X-Trace: "on" }
            auth: { mode: client_credentials, client_id: gatehouse, client_secret: "s3cr3t", actor_token: true }
          local:
            transport: stdio
            command: node
            env: { API_KEY: "abc123" }
        identity:
          api_keys:
            - { id: admin, hash: "sha256:0123", subject: root }
        providers:
          openai: { kind: openai, keys: [{ id: a, value: "sk-live" }, { id: b, value: "${env:OPENAI_KEY}" }] }
        limits: { store: "redis://:hunter2@redis:6379/0" }
        audit: { store: "postgresql://app:pw@db:5432/gatehouse" }
        """);
    for (String secret : new String[] {"ghp_literal", "s3cr3t", "abc123", "sha256:0123", "sk-live", "hunter2", ":pw@"}) {
      assertFalse(shown.contains(secret), secret + " shown in:\n" + shown);
    }
    assertTrue(shown.contains("${env:OPENAI_KEY}"), "where a secret comes from stays visible");
    assertTrue(shown.contains("client_id: gatehouse") && shown.contains("actor_token: true") && shown.contains("id: admin"), shown);
    assertTrue(shown.contains("redis://:" + ConfigView.MASK + "@redis:6379/0"), shown);
    assertTrue(shown.contains("postgresql://app:" + ConfigView.MASK + "@db:5432/gatehouse"), shown);
    assertTrue(shown.contains("url: https://api.example.com/mcp"), shown);
  }

  @Test
  void aFileThatDoesNotParseSaysWhy() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigView.masked("a: [unclosed"));
    assertTrue(e.getMessage().startsWith("the config file does not parse"), e.getMessage());
    assertEquals("", ConfigView.masked(""));
  }
}
