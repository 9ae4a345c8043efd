package dev.gatehouse.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AuditSettingsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @Test
  void defaultsStoreInDataWithoutRetention() {
    AuditSettings s = AuditSettings.defaults();
    assertTrue(s.enabled());
    assertEquals("sqlite:./data/gatehouse.db", s.store());
    assertEquals(Path.of("./data/gatehouse.db"), s.sqlitePath());
    assertEquals(OptionalInt.empty(), s.retentionDays());
    assertEquals(10_000, s.queueCapacity());
    assertTrue(s.redact().containsAll(List.of("password", "token", "secret", "api_key", "authorization")));
  }

  @Test
  void yamlSectionBindsSnakeCaseKeys() throws Exception {
    AuditSettings s = YAML.readValue("""
        store: "sqlite:/var/lib/gatehouse/audit.db"
        retention_days: 30
        queue_capacity: 500
        enabled: false
        redact: [password, "items[*].secret"]
        """, AuditSettings.class);
    assertEquals(new AuditSettings(false, "sqlite:/var/lib/gatehouse/audit.db", OptionalInt.of(30), 500, List.of("password", "items[*].secret"), null, null), s);
    assertEquals(Path.of("/var/lib/gatehouse/audit.db"), s.sqlitePath());
    assertEquals(AuditSettings.defaults(), YAML.readValue("{}", AuditSettings.class));
  }

  @Test
  void sqliteUrlFormsNameTheFile() {
    assertEquals(Path.of("/abs/g.db"), AuditSettings.sqlitePath("sqlite:///abs/g.db"));
    assertEquals(Path.of("rel/g.db"), AuditSettings.sqlitePath("sqlite:rel/g.db"));
  }

  @Test
  void aPostgresqlUrlNamesTheSharedStoreAndItsPasswordIsNeverShown() {
    AuditSettings s = AuditSettings.defaults().withStore("postgresql://gh:s3cr%40t@db.example.com:6432/gatehouse?sslmode=require");
    PostgresUrl u = s.postgres().orElseThrow();
    assertEquals("jdbc:postgresql://db.example.com:6432/gatehouse?sslmode=require", u.jdbcUrl());
    assertEquals("gh", u.user().orElseThrow());
    assertEquals("s3cr@t", u.password().orElseThrow());
    assertTrue(!u.toString().contains("s3cr"), u.toString());
    assertEquals("jdbc:postgresql://db/x", AuditSettings.postgres("jdbc:postgresql://db/x").orElseThrow().jdbcUrl());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AuditSettings.defaults().withStore("postgresql://gh:hunter2@/"));
    assertTrue(e.getMessage().contains("needs a host and a database"), e.getMessage());
    assertTrue(!e.getMessage().contains("hunter2"), e.getMessage());
    IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> AuditSettings.sqlitePath("postgresql://db/x"));
    assertTrue(f.getMessage().contains("is a PostgreSQL store, not a file"), f.getMessage());
  }

  @Test
  void badValuesAreRejectedNamingTheKey() {
    assertStarts("store: 'mysql://x' is not a supported store", () -> AuditSettings.defaults().withStore("mysql://x"));
    assertStarts("store: 'sqlite::memory:' needs a database file path", () -> AuditSettings.defaults().withStore("sqlite::memory:"));
    assertStarts("store: 'sqlite:' needs a database file path", () -> AuditSettings.defaults().withStore("sqlite:"));
    assertStarts("retention_days: 0 (expected: 1..36500", () -> AuditSettings.defaults().withRetentionDays(0));
    assertStarts("queue_capacity: 0 (expected: 1..1000000)", () -> AuditSettings.defaults().withQueueCapacity(0));
    assertStarts("redact[0]: 'a..b'", () -> AuditSettings.defaults().withRedact(List.of("a..b")));
  }

  @Test
  void yamlErrorsCarryTheMessage() {
    ValueInstantiationException e = assertThrows(ValueInstantiationException.class,
        () -> YAML.readValue("retention_days: -3", AuditSettings.class));
    assertTrue(e.getMessage().contains("retention_days: -3 (expected: 1..36500"), e.getMessage());
  }

  private static void assertStarts(String prefix, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().startsWith(prefix), x.getMessage());
  }
}
